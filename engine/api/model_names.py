"""Which names a trained model may have: one file name in its folder, with room for every
file kept beside it (the longest is the training state's temp file while it is written)."""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.api.naming import shorten

NAME_MAX_BYTES = 255  # a file name's limit on every common file system
LONGEST_SUFFIX = ".train.safetensors"
TEMP_OVERHEAD = len(".") + len(".01234567.tmp")  # engine.atomic's temp name around a file
MAX_MODEL_NAME_BYTES = NAME_MAX_BYTES - len(LONGEST_SUFFIX) - TEMP_OVERHEAD


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot name a model's files, as a sentence; None if it can."""
    shown = shorten(repr(name), 60)
    if not name.strip():
        return "A model name cannot be empty; choose a name such as vae-faces."
    if "/" in name or "\\" in name:
        return (
            f"A model name cannot contain / or \\ (got {shown}): it names files inside the "
            "output folder, not another folder; choose a name without them."
        )
    if name.startswith("."):
        return f"A model name cannot start with a dot (got {shown}); choose another name."
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"A model name cannot contain control characters (got {shown})."
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_MODEL_NAME_BYTES:
        return (
            f"A model name can be at most {MAX_MODEL_NAME_BYTES} bytes long (this one is "
            f"{size}), so that its training state still fits in a file name; choose a "
            "shorter name."
        )
    return None


def check_model_name(name: str) -> None:
    """BadInput with the sentence, if `name` cannot name a model's files."""
    if problem := model_name_problem(name):
        raise BadInput(problem)
