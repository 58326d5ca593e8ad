"""The sections of the one-shot GPU check (bench/gpu.py), one module per subject."""
