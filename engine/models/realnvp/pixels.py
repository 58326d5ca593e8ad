"""Images as the points a flow models: dequantised, logit-transformed, and back.

As for the GMM (engine.models.gmm.pixels), a pixel of L levels (digits 17, 8-bit images
256) becomes (k + u) / L with u uniform in [0, 1): "uniform dequantisation" (Theis, van
den Oord & Bethge 2016). The flow's density on [0, 1)^D is exact; its bits per dimension
on the levels' own scale bound the discrete pixels' negative log-likelihood from above,
so the two families' figures compare.

RealNVP then models y = logit(α + (1 − 2α) x) (Dinh et al. 2017, section 4.1): the
unbounded space its Gaussian prior lives in. The logit's log-determinant is part of the
density, so the bits per dimension are still those of x. Its inverse reaches a little
past [0, 1] (to −α / (1 − 2α) and (1 − α) / (1 − 2α)): the density integrates to one
over that wider cube, so to at most one over [0, 1)^D, and its bits per dimension there
still bound the pixels' negative log-likelihood from above (as the GMM's Gaussian tails
do). A drawn value outside [0, 1] is clamped to the nearest level.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from engine.api.errors import BadInput

DIGIT_LEVELS = 17  # the UCI digits store ink as 0..16
BYTE_LEVELS = 256
ALPHA = 0.05  # the paper's α: x is kept in [α, 1 − α] before the logit


@dataclass(frozen=True)
class RealnvpConfig:
    image_size: int
    channels: int
    levels: int  # pixel values the data takes: what dequantisation spreads
    scales: int = 1  # squeeze-and-factor-out blocks before the final couplings
    width: int = 32  # feature maps of each coupling's s and t network
    blocks: int = 2  # residual blocks in each such network
    alpha: float = ALPHA

    @property
    def dims(self) -> int:
        return self.channels * self.image_size**2

    def check(self) -> None:
        """BadInput with a sentence for settings no flow can be built with."""
        if self.channels < 1 or self.image_size < 2:
            raise BadInput(
                f"A RealNVP needs images of at least 2 x 2 pixels and one channel "
                f"(got {self.channels} x {self.image_size} x {self.image_size})."
            )
        if self.scales < 0 or self.image_size % (2**self.scales):
            raise BadInput(
                f"Each of a RealNVP's {self.scales} scales halves the image, so its side "
                f"({self.image_size}) must divide by {2 ** max(self.scales, 0)}. Choose fewer "
                "scales or another image size."
            )
        if self.width < 1 or self.blocks < 0:
            raise BadInput(
                f"A coupling network needs at least one feature map and no negative number "
                f"of blocks (got width {self.width}, {self.blocks} blocks)."
            )
        if self.levels < 2:
            raise BadInput(f"Pixels take at least 2 levels (got {self.levels}).")
        if not 0 < self.alpha < 0.5:
            raise BadInput(f"The logit's margin α lies between 0 and ½ (got {self.alpha}).")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RealnvpConfig:
        config = cls(
            int(data["image_size"]),
            int(data["channels"]),
            int(data["levels"]),
            int(data["scales"]),
            int(data["width"]),
            int(data["blocks"]),
            float(data["alpha"]),
        )
        config.check()
        return config


def levels_of(dataset: str) -> int:
    return DIGIT_LEVELS if dataset == "digits" else BYTE_LEVELS


def checked_images(images: torch.Tensor) -> torch.Tensor:
    """N x C x H x W images in [0, 1]; BadInput for values that are not numbers."""
    finite = torch.isfinite(images.reshape(len(images), -1))
    if not bool(finite.all()):
        bad = int((~finite).any(1).sum())
        raise BadInput(
            f"{bad} of the {len(images)} training images hold values that are not numbers "
            "(NaN or infinite). Remove or repair them and train again."
        )
    return images


def dequantise(
    images: torch.Tensor, levels: int, generator: torch.Generator, dtype=torch.float32
) -> torch.Tensor:
    """Values in [0, 1] to (k + u) / levels, u uniform in [0, 1) from `generator`."""
    k = (images.to(dtype).clamp(0, 1) * (levels - 1)).round()
    noise = torch.rand(k.shape, generator=generator, dtype=dtype)
    return (k + noise) / levels


def level_centres(images: torch.Tensor, levels: int) -> torch.Tensor:
    """Values in [0, 1] to (k + ½) / levels: an image as one point, with no noise (the
    same image, the same code)."""
    k = (images.float().clamp(0, 1) * (levels - 1)).round()
    return (k + 0.5) / levels


def quantise(points: torch.Tensor, levels: int) -> torch.Tensor:
    """Dequantised points back to pixel values in [0, 1] (points outside [0, 1) clamp)."""
    k = (points.float() * levels).floor().clamp(0, levels - 1)
    return k / (levels - 1)


def to_logit(x: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """x in [0, 1]^D (N x ...) to y = logit(α + (1 − 2α) x), and log |dy/dx| per row."""
    p = alpha + (1 - 2 * alpha) * x
    y = torch.log(p) - torch.log1p(-p)
    log_det = (math.log(1 - 2 * alpha) - torch.log(p) - torch.log1p(-p)).flatten(1).sum(1)
    return y, log_det


def from_logit(y: torch.Tensor, alpha: float) -> torch.Tensor:
    """The inverse of to_logit."""
    return (torch.sigmoid(y) - alpha) / (1 - 2 * alpha)


def bits_per_dim(log_density: torch.Tensor, dims: int, levels: int) -> torch.Tensor:
    """Mean negative log-likelihood in bits per dimension on the levels' scale [0, L)^D:
    −log₂ p(x) / D + log₂ L for a density p on [0, 1)^D."""
    return (-log_density.mean() / dims + math.log(levels)) / math.log(2)
