"""Widgets and view state. Never imports torch, diffusers, transformers or spandrel."""
