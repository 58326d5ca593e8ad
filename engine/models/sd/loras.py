"""LoRAs applied to one job and removed after it, through diffusers' own LoRA loader.

diffusers reads both the kohya/A1111 key layout and its own (peft) one, for SD 1.x/2.x
and SDXL. Its peft backend wraps the affected layers instead of changing their weights,
and `unload_lora_weights` takes the wrappers off again: the cached pipeline is exactly
what it was before the job, whatever happened during it. A LoRA made for another
family is refused before anything is loaded: its cross-attention width (the text
embedding it was trained against) must be the model's.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.api.errors import BadInput, is_out_of_memory
from engine.api.parts import LoraSpec
from engine.library.detect import FAMILY_TITLES, ModelKind, SdFamily, detect
from engine.library.header import CheckpointHeader, read_header


@contextlib.contextmanager
def applied_loras(pipe: Any, loras: tuple[LoraSpec, ...], family: SdFamily) -> Iterator[None]:
    if not loras:
        yield
        return
    for lora in loras:  # every file checked before the first is loaded
        _check(Path(lora.path), pipe, family)
    names: list[str] = []
    try:
        for i, lora in enumerate(loras):
            name = f"lora{i}"
            try:
                pipe.load_lora_weights(lora.path, adapter_name=name)
            except (ValueError, RuntimeError, KeyError) as exc:
                if is_out_of_memory(exc):
                    raise
                raise BadInput(
                    f"{Path(lora.path).name} does not fit this model ({exc}). Is it a LoRA "
                    f"for {FAMILY_TITLES[family]}?"
                ) from exc
            names.append(name)
        pipe.set_adapters(names, adapter_weights=[lora.weight for lora in loras])
        yield
    finally:
        if names:
            pipe.unload_lora_weights()


def _check(path: Path, pipe: Any, family: SdFamily) -> None:
    header = read_header(path)
    found = detect(header)
    if found.kind is not ModelKind.LORA:
        raise BadInput(f"{path.name} is not a LoRA ({found.label or found.kind.value}).")
    if found.family is not None and found.family is not family:
        raise BadInput(
            f"{path.name} is a LoRA for {found.family.title}, and the model is "
            f"{FAMILY_TITLES[family]}. Choose a LoRA made for {FAMILY_TITLES[family]}."
        )
    width = _context_width(header)
    expected = int(pipe.unet.config.cross_attention_dim)
    if width is not None and width != expected:
        raise BadInput(
            f"{path.name} was trained for a text embedding {width} wide and this model's is "
            f"{expected}: it is a LoRA for another kind of model."
        )


def _context_width(header: CheckpointHeader) -> int | None:
    # The down (A) matrix of a UNet cross-attention key projection reads the text embedding.
    name = header.first(
        r".*(?:unet|lora_unet).*attn2.to_k.*(?:lora_down|lora_A|lora\.down).*weight"
    )
    shape = header.shape(name) if name else None
    return shape[-1] if shape else None


def lora_hash(path: Path) -> str:
    """See _hash_of; remembered per (path, size, mtime), so a LoRA used in every job of a
    session is read once, not once per job."""
    stat = path.stat()
    return _hash_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _hash_of(path_text: str, size: int, mtime_ns: int) -> str:
    """A1111's 'Lora hashes' (and 'TI hashes') value: the first 12 hex digits of the sha256 of a
    safetensors file's tensor data (its header excluded, so that editing the metadata
    keeps the hash), or of the whole file for other formats."""
    path = Path(path_text)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if path.suffix.lower() == ".safetensors":
            length = int.from_bytes(fh.read(8), "little")
            fh.seek(8 + length)
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:12]
