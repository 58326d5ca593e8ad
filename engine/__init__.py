"""Latent Studio engine: requests in, events out. Torch lives on the worker thread only."""
