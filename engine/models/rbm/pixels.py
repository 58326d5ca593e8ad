"""Images as an RBM's visibles: its settings, and pixels to visibles and back.

Bernoulli visibles are binarised pixels (over half the brightest value is ink; shared
with the other binary family: engine.models.common.binary_pixels), and such a machine
refuses colour. Gaussian visibles are dequantised pixel levels, (k + u) / L with u
uniform in [0, 1) as for the GMM and RealNVP, standardised by the training set's
per-pixel mean and spread (Hinton's practical guide, 2010, §13.2): with unit variance
fixed, the machine needs no learned σ, the least stable part of a Gaussian RBM to learn.
The mean and spread are part of the model file; the density of the standardised points,
divided by the spreads, is a density on [0, 1)^D whose bits per dimension on the levels'
scale bound the discrete pixels' negative log-likelihood from above (as the GMM's do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.api.errors import BadInput
from engine.models.common.binary_pixels import colour_refused

COLOUR_REFUSED = colour_refused("RBM")
VISIBLE_KINDS = ("bernoulli", "gaussian")
DIGIT_LEVELS = 17  # the UCI digits store ink as 0..16
BYTE_LEVELS = 256
SPREAD_FLOOR = 0.05  # a near-constant pixel (a corner, nearly always paper) would give rare
# ink there a standardised value in the hundreds, and CD steps that large wreck the machine


@dataclass(frozen=True)
class RbmConfig:
    image_size: int
    channels: int
    hidden: int
    visible: str = "bernoulli"  # VISIBLE_KINDS
    levels: int = 2  # the pixel levels a Gaussian machine's dequantisation spreads

    @property
    def dims(self) -> int:
        return self.channels * self.image_size**2

    @property
    def gaussian(self) -> bool:
        return self.visible == "gaussian"

    def check(self) -> None:
        """BadInput with a sentence for settings no RBM can be trained with."""
        if self.visible not in VISIBLE_KINDS:
            raise BadInput(
                f"An RBM's visible units are bernoulli or gaussian (got {self.visible!r})."
            )
        if self.channels != 1 and not self.gaussian:
            raise BadInput(f"This data set has {self.channels} colour channels: {COLOUR_REFUSED}.")
        if self.hidden < 1:
            raise BadInput(f"An RBM needs at least one hidden unit (got {self.hidden}).")
        if self.image_size < 1:
            raise BadInput(f"An image is at least one pixel wide (got {self.image_size}).")
        if self.gaussian and self.levels < 2:
            raise BadInput(f"Pixels take at least 2 levels (got {self.levels}).")

    def to_dict(self) -> dict:
        """A Bernoulli machine's settings as they always were (its files stay the same)."""
        d = {"image_size": self.image_size, "channels": self.channels, "hidden": self.hidden}
        if self.gaussian:
            d |= {"visible": self.visible, "levels": self.levels}
        return d

    @classmethod
    def from_dict(cls, data: dict) -> RbmConfig:
        config = cls(
            int(data["image_size"]),
            int(data["channels"]),
            int(data["hidden"]),
            str(data.get("visible", "bernoulli")),
            int(data.get("levels", 2)),
        )
        config.check()
        return config


def visible_kind(setting: str, channels: int) -> str:
    """The training setting's kind: "auto" is Bernoulli for grey images (binarised, as the
    digits always were) and Gaussian for colour."""
    if setting == "auto":
        return "bernoulli" if channels == 1 else "gaussian"
    return setting


def levels_of(dataset: str) -> int:
    return DIGIT_LEVELS if dataset == "digits" else BYTE_LEVELS


@dataclass(frozen=True)
class PixelScale:
    """A Gaussian machine's standardisation: v = (x − mean) / spread, per pixel."""

    mean: torch.Tensor  # D
    spread: torch.Tensor  # D, positive

    @classmethod
    def of(cls, points: torch.Tensor) -> PixelScale:
        """The mean and spread of N x D dequantised points (float64)."""
        points = points.double()
        return cls(points.mean(0), points.std(0).clamp_min(SPREAD_FLOOR))

    def to_visible(self, points: torch.Tensor) -> torch.Tensor:
        return (points.to(self.mean.dtype) - self.mean) / self.spread

    def to_pixels(self, v: torch.Tensor, levels: int) -> torch.Tensor:
        """Visibles back to pixel values in [0, 1]: the point x on the levels' own scale,
        so that a level's centre (k + ½) / L is the level k / (L − 1) itself."""
        x = v.to(self.mean.dtype) * self.spread + self.mean
        return ((x * levels - 0.5) / (levels - 1)).clamp(0, 1)

    @property
    def log_jacobian(self) -> float:
        """log |dv/dx|: what a density of v adds to be a density of x."""
        return -self.spread.log().sum().item()


def dequantise(images: torch.Tensor, levels: int, generator: torch.Generator) -> torch.Tensor:
    """N x C x H x W values in [0, 1] to N x D float64 points (k + u) / levels."""
    flat = finite(images).reshape(len(images), -1).double()
    k = (flat.clamp(0, 1) * (levels - 1)).round()
    return (k + torch.rand(k.shape, generator=generator, dtype=torch.float64)) / levels


def level_centres(images: torch.Tensor, levels: int) -> torch.Tensor:
    """N x C x H x W values to N x D float64 points (k + ½) / levels: an image with no
    noise (what a completion clamps)."""
    flat = finite(images).reshape(len(images), -1).double()
    return ((flat.clamp(0, 1) * (levels - 1)).round() + 0.5) / levels


def finite(images: torch.Tensor) -> torch.Tensor:
    flat = images.reshape(len(images), -1)
    if not bool(torch.isfinite(flat).all()):
        bad = int((~torch.isfinite(flat)).any(1).sum())
        raise BadInput(
            f"{bad} of the {len(flat)} training images hold values that are not numbers "
            "(NaN or infinite). Remove or repair them and train again."
        )
    return images


def level_bits(log_density: torch.Tensor, dims: int, levels: int) -> float:
    """Mean negative log-likelihood in bits per dimension on the levels' scale [0, L)^D:
    −log₂ p(x) / D + log₂ L for a density p on [0, 1)^D."""
    return (-log_density.double().mean().item() / dims + math.log(levels)) / math.log(2)


def as_images(points: torch.Tensor, config: RbmConfig) -> torch.Tensor:
    """N x D pixel values in [0, 1] to N x C x H x W float32."""
    shape = (len(points), config.channels, config.image_size, config.image_size)
    return points.reshape(shape).float()
