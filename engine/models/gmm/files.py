"""GMM model files: the mixture's weights, means and covariance factors, and its settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.common.gmm import Gmm
from engine.models.common.modelfile import read_model_file, save_model_file
from engine.models.gmm.pixels import GmmConfig

RETRAIN_HINT = "python -m engine.train gmm --preset digits"
PREFIX = "mixture."


@dataclass(frozen=True)
class LoadedGmm:
    gmm: Gmm
    config: GmmConfig
    meta: dict[str, Any]


def save_gmm(path: Path, gmm: Gmm, config: GmmConfig, meta: dict[str, Any]) -> None:
    save_model_file(path, gmm.tensors(PREFIX), Family("gmm"), config.to_dict(), meta)


def load_gmm(path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32) -> LoadedGmm:
    """A mixture saved by save_gmm (always on the CPU: EM's sums want float64, and a few
    matrix products need no accelerator); any problem with the file is BadModelFile."""
    path = Path(path)
    tensors, record = read_model_file(path, Family("gmm"), RETRAIN_HINT)
    try:
        config = GmmConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError, BadInput) as exc:
        raise BadModelFile(
            f"The GMM settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc
    gmm = Gmm.from_tensors(tensors, PREFIX)
    if gmm is None or not _fits(gmm, config):
        raise BadModelFile(
            f"{path.name} does not hold the mixture its settings describe "
            f"({config.components} {_kind(config)} components over {config.dims} values). "
            f"The file is damaged or was edited; train it again with `{RETRAIN_HINT}`."
        )
    return LoadedGmm(gmm, config, dict(record.get("meta", {})))


def _fits(gmm: Gmm, config: GmmConfig) -> bool:
    k, d = config.components, config.dims
    scale = (k, d, d) if config.covariance == "full" else (k, d)
    factors = None if gmm.factors is None else tuple(gmm.factors.shape)
    shapes_match = (
        tuple(gmm.weights.shape) == (k,)
        and tuple(gmm.means.shape) == (k, d)
        and tuple(gmm.scale_tril.shape) == scale
        and factors == ((k, d, config.rank) if config.covariance == "lowrank" else None)
    )
    finite = all(bool(torch.isfinite(t).all()) for t in gmm.tensors().values())
    # a standard deviation of 0 is a density of infinity: no file EM writes holds one
    spread = config.covariance == "full" or bool((gmm.scale_tril > 0).all())
    return shapes_match and finite and spread


def _kind(config: GmmConfig) -> str:
    return f"rank-{config.rank}" if config.covariance == "lowrank" else config.covariance
