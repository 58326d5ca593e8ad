"""Latent Studio's own model files: safetensors weights plus a JSON record.

`<name>.safetensors` holds the weights and, in its metadata, the record as JSON (so the
weights file alone is enough to load); `<name>.json` beside it repeats the record for
people and tools that do not read safetensors. The record is
`{"family": ..., "format": 1, "config": {network shape}, "meta": {training facts}}`.
Both files are written atomically: a reader sees the old model or the new one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from engine.api import untrusted_json
from engine.api.errors import BadModelFile
from engine.api.families import title_of
from engine.api.kinds import Family
from engine.atomic import write_bytes_atomic

FORMAT_VERSION = 1
METADATA_KEY = "latentstudio"  # one key: safetensors writes several in random order


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def save_model_file(
    path: Path,
    tensors: dict[str, torch.Tensor],
    family: Family,
    config: dict[str, Any],
    meta: dict[str, Any],
) -> None:
    """Write `<name>.safetensors` and `<name>.json`, each atomically."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"models are saved as .safetensors, not {path.name}")
    record = {"family": family.value, "format": FORMAT_VERSION, "config": config, "meta": meta}
    cpu = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()}
    header = {METADATA_KEY: json.dumps(record, sort_keys=True)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, safetensors_bytes(cpu, metadata=header))
    sidecar = json.dumps(record, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(sidecar_path(path), sidecar.encode("utf-8"))


def check_model_path(path: Path, family: Family, hint: str) -> None:
    """Refuse, before opening it, a file that is not a readable .safetensors file."""
    if path.suffix.lower() != ".safetensors":
        raise BadModelFile(
            f"{path.name} is not a .safetensors file. {title_of(family)} models load only from "
            ".safetensors, because other formats (.ckpt, .pt, .pth) can run code when opened; "
            "choose the model's .safetensors file instead."
        )
    if path.is_dir():
        raise BadModelFile(f"{path} is a folder; choose a {title_of(family)} .safetensors file.")
    if not path.is_file():
        raise BadModelFile(
            f"The {title_of(family)} model file {path} does not exist. Check the path, or "
            f"recreate it with `{hint}`."
        )


def read_model_file(
    path: Path, family: Family, hint: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and record of a model file of `family`; any problem is BadModelFile."""
    path = Path(path)
    check_model_path(path, family, hint)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            raw = (fh.metadata() or {}).get(METADATA_KEY)
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118 - not a dict
    except PermissionError as exc:
        raise BadModelFile(
            f"{path.name} cannot be opened: permission denied. Give your user read access "
            "to it, or copy it somewhere you can read."
        ) from exc
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadModelFile(
            f"{path.name} is damaged or incomplete and cannot be read as safetensors "
            f"({first_line(exc)}). Copy or download it again, or retrain it with `{hint}`."
        ) from exc
    if raw is None:
        raise BadModelFile(
            f"{path.name} is a safetensors file but not a Latent Studio {title_of(family)}: it "
            f"carries no {title_of(family)} settings. Choose a file written by Latent Studio's "
            f"{title_of(family)} training."
        )
    try:
        record = untrusted_json.loads(raw)
    except ValueError as exc:
        raise BadModelFile(
            f"The settings inside {path.name} are not valid JSON. The file is damaged; "
            f"train it again with `{hint}`."
        ) from exc
    found = record.get("family") if isinstance(record, dict) else None
    if found != family.value:
        raise BadModelFile(
            f"{path.name} holds a {found or 'unknown'} model, not a {title_of(family)}. "
            "Choose it from the matching model family instead."
        )
    return tensors, record


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
