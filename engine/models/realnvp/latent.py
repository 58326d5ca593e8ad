"""A loaded RealNVP as a latent model (engine.models.common.latent_runners): the code of a
seed, decoding, and, unlike a GAN's or a VAE's, the exact code of any image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.api.errors import BadInput
from engine.models.common.fixed_batch import in_fixed_batches
from engine.models.common.images import to_rgb_uint8
from engine.models.realnvp.flow import RealNvp, decode, encode, log_density
from engine.models.realnvp.pixels import RealnvpConfig, level_centres, quantise


@dataclass(frozen=True)
class LoadedRealnvp:
    flow: RealNvp
    config: RealnvpConfig
    meta: dict[str, Any]

    @property
    def latent_dim(self) -> int:
        return self.config.dims

    @property
    def channels(self) -> int:
        return self.config.channels

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def latent(self, seed: int) -> torch.Tensor:
        """The z of seed `seed` at temperature 1 (standard normal, a CPU generator)."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(1, self.config.dims, generator=generator)

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """Codes N x D to images N x C x H x W in [0, 1], on the data's levels; each row
        as if decoded alone (fixed passes of 16 rows)."""
        with torch.inference_mode():
            points = in_fixed_batches(lambda rows: decode(self.flow, rows), z.float())
        if not bool(torch.isfinite(points).all()):
            raise BadInput(
                "This code is too far from the middle of the flow's latent space: decoding "
                "it gives values that are not numbers. Choose smaller values (or a lower "
                "temperature)."
            )
        return quantise(points, self.config.levels)

    def decode(self, z: torch.Tensor) -> np.ndarray:
        """Codes N x D to uint8 N x H x W x 3."""
        return to_rgb_uint8(self.pixels(z))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images N x C x H x W in [0, 1] to their exact codes (each pixel at the middle
        of its level): decoding a code gives its image back."""
        points = level_centres(images, self.config.levels)
        with torch.inference_mode():
            return in_fixed_batches(lambda rows: encode(self.flow, rows), points)

    def log_density(self, points: torch.Tensor) -> torch.Tensor:
        """log p of dequantised points in [0, 1) (N x C x H x W)."""
        with torch.inference_mode():
            return log_density(self.flow, points.float())
