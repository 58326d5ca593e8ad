"""NADE model files: the four weight tensors and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.common.modelfile import read_model_file, save_model_file
from engine.models.nade.network import Nade
from engine.models.nade.pixels import NadeConfig

RETRAIN_HINT = "python -m engine.train nade --preset digits"
PREFIX = "nade."


@dataclass(frozen=True)
class LoadedNade:
    nade: Nade
    config: NadeConfig
    meta: dict[str, Any]


def save_nade(path: Path, nade: Nade, config: NadeConfig, meta: dict[str, Any]) -> None:
    save_model_file(path, nade.tensors(PREFIX), Family("nade"), config.to_dict(), meta)


def load_nade(path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32) -> LoadedNade:
    """A NADE saved by save_nade, in float64 on the CPU (its products are tiny, and a
    row's draws then never depend on the batch beside it); any problem with the file is
    BadModelFile."""
    path = Path(path)
    tensors, record = read_model_file(path, Family("nade"), RETRAIN_HINT)
    try:
        config = NadeConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError, BadInput) as exc:
        raise BadModelFile(
            f"The NADE settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc
    nade = Nade.from_tensors(tensors, PREFIX)
    if nade is None or not _fits(nade, config):
        raise BadModelFile(
            f"{path.name} does not hold the NADE its settings describe ({config.hidden} "
            f"hidden units over {config.dims} pixels). The file is damaged or was edited; "
            f"train it again with `{RETRAIN_HINT}`."
        )
    return LoadedNade(nade.double().eval(), config, dict(record.get("meta", {})))


def _fits(nade: Nade, config: NadeConfig) -> bool:
    shapes_match = (nade.hidden, nade.visible) == (config.hidden, config.dims)
    return shapes_match and all(bool(torch.isfinite(t).all()) for t in nade.tensors().values())
