"""RBM model files: the weights and biases, its settings, the base rate AIS starts from
(the training visibles' means), and a Gaussian machine's pixel standardisation. A
Bernoulli file is what it always was; the settings' `visible` says which kind a file is
(absent: Bernoulli)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.common.binary_pixels import binarise
from engine.models.common.modelfile import read_model_file, save_model_file
from engine.models.rbm.machine import Rbm
from engine.models.rbm.pixels import PixelScale, RbmConfig, as_images, level_centres

RETRAIN_HINT = "python -m engine.train rbm --preset digits"
PREFIX = "rbm."
BASE_KEY = "base_rate.visible_bias"
MEAN_KEY, SPREAD_KEY = "pixels.mean", "pixels.spread"


@dataclass(frozen=True)
class LoadedRbm:
    rbm: Rbm
    base_biases: torch.Tensor  # AIS's model A
    config: RbmConfig
    meta: dict[str, Any]
    scale: PixelScale | None = None  # a Gaussian machine's standardisation

    def pictures(self, v: torch.Tensor) -> torch.Tensor:
        """N x D visibles (a binary machine's: pixel values already) as N x C x H x W
        float32 images in [0, 1]."""
        pixels = v if self.scale is None else self.scale.to_pixels(v, self.config.levels)
        return as_images(pixels, self.config)

    def visibles(self, images: torch.Tensor) -> torch.Tensor:
        """N x C x H x W images as the machine sees them, with no noise (N x D float64):
        binarised, or each pixel's level centre standardised."""
        if self.scale is None:
            return binarise(images)
        return self.scale.to_visible(level_centres(images, self.config.levels))


def save_rbm(
    path: Path,
    rbm: Rbm,
    base_biases: torch.Tensor,
    config: RbmConfig,
    meta: dict[str, Any],
    scale: PixelScale | None = None,
) -> None:
    tensors = {**rbm.tensors(PREFIX), BASE_KEY: base_biases}
    if scale is not None:
        tensors |= {MEAN_KEY: scale.mean.float(), SPREAD_KEY: scale.spread.float()}
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
    rbm = Rbm.from_tensors(tensors, PREFIX, config.gaussian)
    base = tensors.get(BASE_KEY)
    scale = _scale(tensors) if config.gaussian else None
    if rbm is None or base is None or not _fits(rbm, base, config, scale):
        raise BadModelFile(
            f"{path.name} does not hold the RBM its settings describe ({config.hidden} "
            f"hidden units over {config.dims} pixels). The file is damaged or was edited; "
            f"train it again with `{RETRAIN_HINT}`."
        )
    meta = dict(record.get("meta", {}))
    return LoadedRbm(rbm.double(), base.double(), config, meta, scale)


def _scale(tensors: dict[str, torch.Tensor]) -> PixelScale | None:
    if MEAN_KEY not in tensors or SPREAD_KEY not in tensors:
        return None
    return PixelScale(tensors[MEAN_KEY].double(), tensors[SPREAD_KEY].double())


def _fits(rbm: Rbm, base: torch.Tensor, config: RbmConfig, scale: PixelScale | None) -> bool:
    h, d = config.hidden, config.dims
    shapes_match = (
        tuple(rbm.weights.shape) == (h, d)
        and tuple(rbm.visible_bias.shape) == (d,)
        and tuple(rbm.hidden_bias.shape) == (h,)
        and tuple(base.shape) == (d,)
    )
    tensors = [*rbm.tensors().values(), base]
    if config.gaussian:
        if scale is None or not (scale.mean.shape == scale.spread.shape == (d,)):
            return False
        shapes_match = shapes_match and bool((scale.spread > 0).all())
        tensors += [scale.mean, scale.spread]
    return shapes_match and all(bool(torch.isfinite(t).all()) for t in tensors)
