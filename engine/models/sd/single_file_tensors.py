"""A single-file checkpoint read straight into the dtype it will run in.

diffusers' `from_single_file` reads the whole file's state dict first (every tensor in
the file's own dtype, held until every component is built), then converts each
component's tensors as it loads them: for a bf16 model from an fp32 or fp16 file, the
file's copy and the bf16 copy are alive together. Here the checkpoint diffusers asks for
is read one tensor at a time from the file's memory map and converted at once, so only
the target dtype's copy is held; diffusers' conversion then finds the tensors already in
its dtype and keeps them. Its own key conversion (reshapes, splits) runs unchanged, so
the weights are the same numbers as its own load in that dtype (tested bitwise).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from diffusers.loaders import single_file
from safetensors import safe_open


def read_in_dtype(path: Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Every tensor of a .safetensors file, floating ones converted to `dtype`."""
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt", device="cpu") as file:
        for name in file.keys():  # noqa: SIM118  (safe_open is no mapping)
            tensor = file.get_tensor(name)
            tensors[name] = tensor.to(dtype) if tensor.is_floating_point() else tensor
    return tensors


@contextlib.contextmanager
def checkpoint_in(dtype: torch.dtype) -> Iterator[None]:
    """While open, diffusers' single-file loader reads a local .safetensors checkpoint
    through `read_in_dtype`; other files (.ckpt) as it always does. Callers hold
    engine.models.common.construction.building_models, so no other load sees it."""
    original = single_file.load_single_file_checkpoint

    def load(path: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        local = isinstance(path, str | Path) and Path(path).is_file()
        if local and str(path).lower().endswith(".safetensors"):
            return read_in_dtype(Path(path), dtype)
        return original(path, **kwargs)

    single_file.load_single_file_checkpoint = load
    try:
        yield
    finally:
        single_file.load_single_file_checkpoint = original
