"""How models and images are named for people and for file names."""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX = 40
_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".onnx", ".gguf")


def model_name(model: str) -> str:
    """A model id as people say it: the file or folder name without the weights suffix."""
    name = re.split(r"[\\/]", model.rstrip("\\/"))[-1] if model else ""
    for suffix in _MODEL_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """Lowercase ASCII words joined by '-', cut at a word boundary: safe on every OS."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", ascii_text.lower()):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            # A single very long first word is cut rather than dropped.
            return slug or word[:max_length]
        slug = candidate
    return slug


def shorten(text: str, length: int = 40) -> str:
    """One line of at most `length` characters, with an ellipsis when cut."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"
