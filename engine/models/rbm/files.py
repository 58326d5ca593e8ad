"""RBM model files: the weights and biases, its settings, and the base rate AIS starts
from (the training pixels' means)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.common.modelfile import read_model_file, save_model_file
from engine.models.rbm.machine import Rbm
from engine.models.rbm.pixels import RbmConfig

RETRAIN_HINT = "python -m engine.train rbm --preset digits"
PREFIX = "rbm."
BASE_KEY = "base_rate.visible_bias"


@dataclass(frozen=True)
class LoadedRbm:
    rbm: Rbm
    base_biases: torch.Tensor  # AIS's model A
    config: RbmConfig
    meta: dict[str, Any]


def save_rbm(
    path: Path, rbm: Rbm, base_biases: torch.Tensor, config: RbmConfig, meta: dict[str, Any]
) -> None:
    tensors = {**rbm.tensors(PREFIX), BASE_KEY: base_biases}
    save_model_file(path, tensors, Family("rbm"), config.to_dict(), meta)


def load_rbm(path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32) -> LoadedRbm:
    """An RBM saved by save_rbm (on the CPU: its products are tiny); any problem with the
    file is BadModelFile."""
    path = Path(path)
    tensors, record = read_model_file(path, Family("rbm"), RETRAIN_HINT)
    try:
        config = RbmConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError, BadInput) as exc:
        raise BadModelFile(
            f"The RBM settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc
    rbm = Rbm.from_tensors(tensors, PREFIX)
    base = tensors.get(BASE_KEY)
    if rbm is None or base is None or not _fits(rbm, base, config):
        raise BadModelFile(
            f"{path.name} does not hold the RBM its settings describe ({config.hidden} "
            f"hidden units over {config.dims} pixels). The file is damaged or was edited; "
            f"train it again with `{RETRAIN_HINT}`."
        )
    return LoadedRbm(rbm.double(), base.double(), config, dict(record.get("meta", {})))


def _fits(rbm: Rbm, base: torch.Tensor, config: RbmConfig) -> bool:
    h, d = config.hidden, config.dims
    shapes_match = (
        tuple(rbm.weights.shape) == (h, d)
        and tuple(rbm.visible_bias.shape) == (d,)
        and tuple(rbm.hidden_bias.shape) == (h,)
        and tuple(base.shape) == (d,)
    )
    tensors = [*rbm.tensors().values(), base]
    return shapes_match and all(bool(torch.isfinite(t).all()) for t in tensors)
