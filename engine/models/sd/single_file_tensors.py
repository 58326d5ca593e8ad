"""A single-file checkpoint read straight into the dtype it will run in.

diffusers' `from_single_file` reads the whole file's state dict first (every tensor in
the file's own dtype, held until every component is built), then converts each
component's tensors as it loads them: for a bf16 model from an fp32 or fp16 file, the
file's copy and the bf16 copy are alive together. Here the checkpoint diffusers asks for
is read one tensor at a time from the file and converted at once, so only the target
dtype's copy is held; diffusers' conversion then finds the tensors already in
its dtype and keeps them. Its own key conversion (reshapes, splits) runs unchanged, so
the weights are the same numbers as its own load in that dtype (tested bitwise).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from diffusers.loaders import single_file

# safetensors' dtype names (its format's header) -> torch's.
SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_in_dtype(path: Path, dtype: torch.dtype) -> dict[str, torch.Tensor] | None:
    """Every tensor of a .safetensors file, floating ones converted to `dtype`; None for
    a file with a dtype not in SAFETENSORS_DTYPES (diffusers' own reader takes it).

    Plain reads, not a memory map: a mapped file's pages count as the process's own
    memory until it is unmapped, which would hold the whole file beside the converted
    copy again. Read, each tensor's bytes are the page cache's, and only one tensor in
    the file's dtype is alive at a time."""
    with open(path, "rb") as file:
        length = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(length))
        header.pop("__metadata__", None)
        if any(info["dtype"] not in SAFETENSORS_DTYPES for info in header.values()):
            return None
        tensors: dict[str, torch.Tensor] = {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            raw = torch.empty(end - begin, dtype=torch.uint8)
            file.seek(8 + length + begin)
            _read_into(file, raw.numpy())
            tensor = raw.view(SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
            tensors[name] = tensor.to(dtype) if tensor.is_floating_point() else tensor
    return tensors


def _read_into(file: BinaryIO, buffer: np.ndarray) -> None:
    view, done = memoryview(buffer), 0
    while done < len(view):
        count = file.readinto(view[done:])
        if not count:
            raise OSError(f"{file.name} ended before its tensors did.")
        done += count


@contextlib.contextmanager
def checkpoint_in(dtype: torch.dtype) -> Iterator[None]:
    """While open, diffusers' single-file loader reads a local .safetensors checkpoint
    through `read_in_dtype`; other files (.ckpt) as it always does. Callers hold
    engine.models.common.construction.building_models, so no other load sees it."""
    original = single_file.load_single_file_checkpoint

    def load(path: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        local = isinstance(path, str | Path) and Path(path).is_file()
        if local and str(path).lower().endswith(".safetensors"):
            read = read_in_dtype(Path(path), dtype)
            if read is not None:
                return read
        return original(path, **kwargs)

    single_file.load_single_file_checkpoint = load
    try:
        yield
    finally:
        single_file.load_single_file_checkpoint = original
