"""The multiscale flow (Dinh et al. 2017, section 3.6) and the density it gives.

Each scale: three checkerboard couplings, a squeeze (C x H x W to 4C x H/2 x W/2), three
channel couplings, then half the channels are factored out: they are final latent values
and only the other half goes on to the next, coarser scale. After the last scale, four
checkerboard couplings. The code z is every factored-out half and the last output,
flattened in that order: as many values as the image, each standard normal under the
prior. Batch normalisation, which the paper also uses, is left out: the flow is then one
fixed function, in training and sampling alike.

log p(x) = log N(z; 0, I) + log |det ∂z/∂y| + log |det ∂y/∂x|, y the logit of x.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.models.realnvp.couplings import (
    ChannelCoupling,
    CheckerboardCoupling,
    squeeze,
    unsqueeze,
)
from engine.models.realnvp.pixels import RealnvpConfig, from_logit, to_logit

FINAL_COUPLINGS = 4


class _Scale(nn.Module):
    def __init__(self, channels: int, width: int, blocks: int) -> None:
        super().__init__()
        self.pixels = nn.ModuleList(
            CheckerboardCoupling(channels, width, blocks, parity=i % 2) for i in range(3)
        )
        self.channels = nn.ModuleList(
            ChannelCoupling(4 * channels, width, blocks, parity=i % 2) for i in range(3)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = x.new_zeros(len(x))
        for layer in self.pixels:
            x, ld = layer(x)
            log_det = log_det + ld
        x = squeeze(x)
        for layer in self.channels:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.channels):
            y = layer.inverse(y)
        y = unsqueeze(y)
        for layer in reversed(self.pixels):
            y = layer.inverse(y)
        return y


class RealNvp(nn.Module):
    """The bijection between logit space y (N x C x H x W) and codes z (N x D)."""

    def __init__(self, config: RealnvpConfig) -> None:
        super().__init__()
        self.config = config
        channels, width, blocks = config.channels, config.width, config.blocks
        self.scales = nn.ModuleList()
        for _ in range(config.scales):
            self.scales.append(_Scale(channels, width, blocks))
            channels *= 2  # squeezed to 4C, half of them factored out
        self.final = nn.ModuleList(
            CheckerboardCoupling(channels, width, blocks, parity=i % 2)
            for i in range(FINAL_COUPLINGS)
        )
        self._last_shape = (channels, config.image_size >> config.scales)

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes N x D and log |det ∂z/∂y| per row."""
        parts, log_det = [], y.new_zeros(len(y))
        for scale in self.scales:
            y, ld = scale(y)
            log_det = log_det + ld
            out, y = y.chunk(2, dim=1)
            parts.append(out.flatten(1))
        for layer in self.final:
            y, ld = layer(y)
            log_det = log_det + ld
        parts.append(y.flatten(1))
        return torch.cat(parts, dim=1), log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        channels, side = self._last_shape
        sizes = self._part_sizes()
        parts = list(z.split(sizes, dim=1))
        y = parts.pop().reshape(len(z), channels, side, side)
        for layer in reversed(self.final):
            y = layer.inverse(y)
        for scale in reversed(self.scales):
            out = parts.pop().reshape(y.shape)  # the half factored out here: same shape
            y = scale.inverse(torch.cat([out, y], dim=1))
        return y

    def _part_sizes(self) -> list[int]:
        channels, side = self.config.channels, self.config.image_size
        sizes = []
        for _ in self.scales:
            channels, side = channels * 2, side // 2
            sizes.append(channels * side * side)
        return [*sizes, channels * side * side]


def log_density(flow: RealNvp, x: torch.Tensor) -> torch.Tensor:
    """log p(x) per image of x (N x C x H x W in [0, 1)): the flow's exact density."""
    y, logit_det = to_logit(x, flow.config.alpha)
    z, flow_det = flow(y)
    return standard_normal_log_prob(z) + flow_det + logit_det


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


def encode(flow: RealNvp, x: torch.Tensor) -> torch.Tensor:
    """Images' points in [0, 1) to their exact codes."""
    return flow(to_logit(x, flow.config.alpha)[0])[0]


def decode(flow: RealNvp, z: torch.Tensor) -> torch.Tensor:
    """Codes to points in [0, 1] (N x C x H x W): the inverse of encode."""
    return from_logit(flow.inverse(z), flow.config.alpha)
