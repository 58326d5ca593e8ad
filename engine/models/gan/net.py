"""The GAN's two networks: MLPs for 8 x 8 digits, DCGAN convolutions for 16–64 px images."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.api.errors import BadModelFile
from engine.models.common.fixed_batch import in_fixed_batches
from engine.models.common.images import to_rgb_uint8


@dataclass(frozen=True)
class GanConfig:
    image_size: int = 8
    channels: int = 1
    z_dim: int = 32
    width: int = 256  # MLP width, or the DCGAN's base number of channels
    arch: str = "mlp"  # "mlp" or "dcgan"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GanConfig:
        config = cls(**data)
        if (
            config.arch not in ("mlp", "dcgan")
            or min(config.image_size, config.channels, config.z_dim, config.width) < 1
        ):
            raise ValueError(f"not a GAN shape: {config}")
        if config.arch == "dcgan" and config.image_size not in (16, 32, 64):
            raise ValueError(f"a DCGAN draws 16, 32 or 64 px, not {config.image_size}")
        return config

    @property
    def levels(self) -> int:
        return int(math.log2(self.image_size // 4))


class Generator(nn.Module):
    """z -> image in [-1, 1] (tanh)."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = config
        c, s, w = config.channels, config.image_size, config.width
        if config.arch == "mlp":
            self.net = nn.Sequential(
                nn.Linear(config.z_dim, w), nn.LeakyReLU(0.2),
                nn.Linear(w, w), nn.LeakyReLU(0.2),
                nn.Linear(w, w), nn.LeakyReLU(0.2),
                nn.Linear(w, c * s * s), nn.Tanh(),
            )  # fmt: skip
            return
        widths = [w * 2 ** (config.levels - 1 - i) for i in range(config.levels)]  # e.g. 256,128,64
        self.fc = nn.Sequential(
            nn.Linear(config.z_dim, widths[0] * 16), nn.BatchNorm1d(widths[0] * 16), nn.ReLU()
        )
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths, widths[1:], strict=False):
            layers += [
                nn.ConvTranspose2d(width_in, width_out, 4, 2, 1),
                nn.BatchNorm2d(width_out),
                nn.ReLU(),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.first = widths[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c, s = self.config.channels, self.config.image_size
        if self.config.arch == "mlp":
            return self.net(z).view(-1, c, s, s)
        return self.net(self.fc(z).view(-1, self.first, 4, 4))


class Discriminator(nn.Module):
    """image -> one real-or-fake score (a logit)."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        c, s, w = config.channels, config.image_size, config.width
        if config.arch == "mlp":
            self.net = nn.Sequential(
                nn.Flatten(),
                nn.Linear(c * s * s, w), nn.LeakyReLU(0.2),
                nn.Linear(w, w), nn.LeakyReLU(0.2),
                nn.Linear(w, 1),
            )  # fmt: skip
            return
        widths = [w * 2**i for i in range(config.levels)]  # e.g. 64,128,256
        layers: list[nn.Module] = [nn.Conv2d(c, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for width_in, width_out in zip(widths, widths[1:], strict=False):
            layers += [nn.Conv2d(width_in, width_out, 4, 2, 1), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(widths[-1] * 4 * 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def sample_z(z_dim: int, seed: int) -> torch.Tensor:
    """One 1 x z_dim standard normal draw from a CPU generator (the same on every device)."""
    return torch.randn((1, z_dim), generator=torch.Generator("cpu").manual_seed(seed))


@torch.inference_mode()
def generate(generator: Generator, z: torch.Tensor) -> np.ndarray:
    """Latents -> uint8 N x H x W x 3."""
    param = next(generator.parameters())
    images = in_fixed_batches(generator, z.to(param.device, param.dtype)).float()
    if not torch.isfinite(images).all():
        raise BadModelFile(
            "The GAN's generator produced no picture (its numbers overflowed to NaN): its "
            "weights are broken. Train it again, or choose another model."
        )
    return to_rgb_uint8((images + 1) / 2)
