"""The engine's torch-free vocabulary: what the GUI may import.

Requests built from typed parts, the events and outcomes that come back, error kinds,
limits, and the catalogue of models on disk. Nothing here imports torch, diffusers,
transformers or Qt, so a widget can build a request and read a result for free.
"""
