"""Recognising running out of memory, and saying what to do about it."""

from __future__ import annotations

import torch

from engine.errors import OutOfMemory, is_out_of_memory

__all__ = ["is_out_of_memory", "out_of_memory", "release_cached_memory"]


def out_of_memory(device: str, doing: str) -> OutOfMemory:
    where = "the GPU" if device in ("cuda", "mps") else "the computer"
    advice = (
        "Try a smaller width/height or batch size, or close other apps that use the GPU."
        if device in ("cuda", "mps")
        else "Try a smaller width/height or batch size, or close other programs."
    )
    return OutOfMemory(f"{where.capitalize()} ran out of memory while {doing}. {advice}")


def release_cached_memory(device: str) -> None:
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and torch.backends.mps.is_available():
        torch.mps.empty_cache()
