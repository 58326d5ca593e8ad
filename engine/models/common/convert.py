"""A pickled checkpoint (.ckpt/.pt/.pth/.bin) rewritten as .safetensors.

Only files that torch.load(weights_only=True) reads are converted: those hold tensors
and plain containers, nothing that runs. A file that would need more is refused, never
unpickled. The result is written atomically; the original is left as it is.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from engine.api.errors import BadInput, BadModelFile
from engine.atomic import fsync_folder, temp_path_for
from engine.library.header import would_run_code
from engine.models.common.modelfile import first_line
from engine.store.errors import reason


def convert_to_safetensors(source: Path, out_dir: Path) -> Path:
    if source.suffix.lower() == ".safetensors":
        raise BadInput(f"{source.name} is already a .safetensors file.")
    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as exc:
        raise BadModelFile(would_run_code(source)) from exc
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise BadModelFile(f"{source.name} is damaged or not a checkpoint ({exc}).") from exc
    while isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        loaded = {}
    tensors = {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise BadModelFile(f"{source.name} holds no tensors to convert.")
    # safetensors refuses tensors that share memory: give each its own.
    tensors = {name: t.contiguous().clone() for name, t in tensors.items()}
    target = out_dir / f"{source.stem}.safetensors"
    try:
        _write(tensors, target, source.name)
    except (OSError, SafetensorError) as exc:
        raise BadInput(
            f"Could not write {target}: {_why(exc)}. Free some space, or give another "
            "folder with --out."
        ) from exc
    return target


def _write(tensors: dict[str, torch.Tensor], target: Path, source_name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = temp_path_for(target)
    try:  # written beside the target, then renamed: never a half-written file
        save_file(tensors, str(partial), metadata={"converted_from": source_name})
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    fsync_folder(target.parent)


def _why(exc: Exception) -> str:
    # safetensors reports a write error as text ("IoError ... No space left on device").
    if isinstance(exc, OSError):
        return reason(exc)
    return "the disk is full" if "No space left" in str(exc) else first_line(exc)
