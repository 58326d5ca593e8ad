"""Images as the points a mixture models: flattened, dequantised, and back.

An image's pixels take a few values only (digits: 17 ink levels; 8-bit images: 256), and
a density on a few values is not a density: a Gaussian fitted to a pixel that is always
0 shrinks to nothing and its likelihood grows without bound. So each value k of L levels
becomes k + u with u uniform in [0, 1), divided by L: "uniform dequantisation" (Theis, van
den Oord & Bethge 2016). The mixture is a density on these continuous points in [0, 1)^D;
its bits per dimension on the levels' own scale are exact for that continuous density,
and bound the discrete pixels' negative log-likelihood from above.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from engine.api.errors import BadInput
from engine.models.common.covariances import COVARIANCES

FULL_MAX_DIMS = 1024  # a full covariance is D x D numbers a component: 32 x 32 grey at most


@dataclass(frozen=True)
class GmmConfig:
    image_size: int
    channels: int
    components: int
    covariance: str  # "full", "diag" or "lowrank"
    levels: int  # pixel values the data takes: what dequantisation spreads
    rank: int = 0  # a low-rank covariance's factors (0 for the others)

    @property
    def dims(self) -> int:
        return self.channels * self.image_size**2

    def check(self) -> None:
        """BadInput with a sentence for settings no mixture can be fitted with."""
        if self.covariance not in COVARIANCES:
            raise BadInput(
                f"A GMM's covariance is 'full', 'diag' or 'lowrank' (low rank plus diagonal), "
                f"not {self.covariance!r}."
            )
        check_rank(self.covariance, self.rank, self.dims)
        if self.covariance == "full" and self.dims > FULL_MAX_DIMS:
            raise BadInput(
                f"A full covariance over {self.dims} pixel values would hold "
                f"{self.dims**2:,} numbers per component; full covariances are offered up to "
                f"{FULL_MAX_DIMS} values (32×32 grey). Choose the diagonal covariance."
            )
        if self.components < 1:
            raise BadInput(f"A GMM needs at least one component (got {self.components}).")
        if self.levels < 2:
            raise BadInput(f"Pixels take at least 2 levels (got {self.levels}).")

    def to_dict(self) -> dict:
        """Its settings; a rank only where there is one, so diag and full files are
        written as they always were."""
        data = asdict(self)
        if self.covariance != "lowrank":
            del data["rank"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> GmmConfig:
        config = cls(
            int(data["image_size"]),
            int(data["channels"]),
            int(data["components"]),
            str(data["covariance"]),
            int(data["levels"]),
            int(data.get("rank", 0)),
        )
        config.check()
        return config


def check_rank(covariance: str, rank: int, dims: int) -> None:
    """BadInput unless a low-rank covariance has 1 to `dims` factors (and the others none)."""
    if covariance != "lowrank":
        if rank != 0:
            raise BadInput(f"Only a low-rank covariance has a rank; a {covariance} one has none.")
        return
    if not 1 <= rank <= dims:
        raise BadInput(
            f"A low-rank covariance's rank is 1 to the {dims} values an image has (got {rank}); "
            "a few (about 8) is the usual choice."
        )


def checked_points(images: torch.Tensor, components: int) -> torch.Tensor:
    """N x C x H x W images in [0, 1] as N x D float64; BadInput for what EM cannot fit."""
    flat = images.reshape(len(images), -1).double()
    if not bool(torch.isfinite(flat).all()):
        bad = int((~torch.isfinite(flat)).any(1).sum())
        raise BadInput(
            f"{bad} of the {len(flat)} training images hold values that are not numbers "
            "(NaN or infinite). Remove or repair them and train again."
        )
    if components > len(flat):
        raise BadInput(
            f"A mixture of {components} components needs at least as many training images; "
            f"there are {len(flat)}. Choose fewer components or add images."
        )
    return flat


def dequantise(points: torch.Tensor, levels: int, seed: int) -> torch.Tensor:
    """N x D values in [0, 1] to (k + u) / levels, u uniform in [0, 1) from `seed`."""
    k = (points.double().clamp(0, 1) * (levels - 1)).round()
    noise = torch.rand(k.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (k + noise) / levels


def quantise(points: torch.Tensor, levels: int) -> torch.Tensor:
    """Dequantised points back to pixel values in [0, 1] (draws outside [0, 1) clamp)."""
    k = (points.double() * levels).floor().clamp(0, levels - 1)
    return (k / (levels - 1)).float()


def bits_per_dim(log_density: torch.Tensor, dims: int, levels: int) -> float:
    """Mean negative log-likelihood in bits per dimension on the levels' scale [0, L)^D:
    −log₂ p(x) / D + log₂ L for a density p on [0, 1)^D."""
    return (-log_density.double().mean().item() / dims + math.log(levels)) / math.log(2)


def as_images(points: torch.Tensor, config: GmmConfig) -> torch.Tensor:
    """N x D pixel values to N x C x H x W."""
    return points.reshape(len(points), config.channels, config.image_size, config.image_size)


def level_centres(points: torch.Tensor, levels: int) -> torch.Tensor:
    """N x D values in [0, 1] to (k + ½) / levels, the middle of each level's interval:
    an image as one point, with no dequantisation noise (the same image, the same point)."""
    k = (points.double().clamp(0, 1) * (levels - 1)).round()
    return (k + 0.5) / levels


def mean_pixels(points: torch.Tensor, levels: int) -> torch.Tensor:
    """Points of the dequantised space (a component's mean) back on the pixels' [0, 1]
    scale without rounding: the inverse of level_centres, clamped (a mean is shown as the
    grey it is, not snapped to a level)."""
    return ((points.double() * levels - 0.5) / (levels - 1)).clamp(0, 1).float()
