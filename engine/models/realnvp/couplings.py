"""RealNVP's invertible pieces: affine coupling layers and the squeeze.

An affine coupling (Dinh, Sohl-Dickstein & Bengio 2017, section 3.3) keeps part of its
input, x_a, and moves the rest: y_b = x_b ⊙ exp(s(x_a)) + t(x_a). Its Jacobian is
triangular, so log |det| = Σ s(x_a); and since y_a = x_a, the inverse recomputes s and t
from y_a: x_b = (y_b − t) ⊙ exp(−s). s and t may be any network: here a small residual
convolutional net, with s = scale · tanh(·) (bounded, as the paper's) and its last
layer zero, so a new flow starts as the identity.

Two masks (section 3.4): a checkerboard over the pixels, and a split of the channels
into halves; each layer's `parity` says which part it keeps, and successive layers
alternate it so every value is moved.
"""

from __future__ import annotations

import torch
from torch import nn


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ScaleShift(nn.Module):
    """s and t (each `out` channels) from the kept values (`inputs` channels)."""

    def __init__(self, inputs: int, out: int, width: int, blocks: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(inputs, width, 3, padding=1)
        self.body = nn.Sequential(*(_Residual(width) for _ in range(blocks)), nn.ReLU())
        self.tail = nn.Conv2d(width, 2 * out, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # the identity to start with
        nn.init.zeros_(self.tail.bias)
        self.scale = nn.Parameter(torch.ones(out, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_s, t = self.tail(self.body(self.head(x))).chunk(2, dim=1)
        return self.scale * torch.tanh(raw_s), t


class CheckerboardCoupling(nn.Module):
    """Keeps the pixels where (row + column) % 2 == parity; moves the others."""

    def __init__(self, channels: int, width: int, blocks: int, parity: int) -> None:
        super().__init__()
        self.parity = parity
        # The mask is an input too: the net knows which pixels it is given.
        self.net = ScaleShift(channels + 1, channels, width, blocks)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        rows = torch.arange(h, device=x.device).view(h, 1)
        columns = torch.arange(w, device=x.device).view(1, w)
        return ((rows + columns) % 2 == self.parity).to(x.dtype).expand(1, 1, h, w)

    def _scale_shift(self, kept: torch.Tensor, mask: torch.Tensor):
        s, t = self.net(torch.cat([kept, mask.expand(len(kept), 1, -1, -1)], dim=1))
        return s * (1 - mask), t * (1 - mask)  # nothing moves where the mask keeps

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = self.mask(x)
        s, t = self._scale_shift(x * mask, mask)
        return x * torch.exp(s) + t, s.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        mask = self.mask(y)
        s, t = self._scale_shift(y * mask, mask)
        return (y - t) * torch.exp(-s)


class ChannelCoupling(nn.Module):
    """Keeps one half of the channels (the first for parity 0); moves the other."""

    def __init__(self, channels: int, width: int, blocks: int, parity: int) -> None:
        super().__init__()
        self.parity = parity
        self.net = ScaleShift(channels // 2, channels - channels // 2, width, blocks)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = x.split([x.shape[1] // 2, x.shape[1] - x.shape[1] // 2], dim=1)
        return (a, b) if self.parity == 0 else (b, a)

    def _join(self, kept: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
        return torch.cat([kept, moved] if self.parity == 0 else [moved, kept], dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kept, moved = self._split(x)
        s, t = self.net(kept)
        return self._join(kept, moved * torch.exp(s) + t), s.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        kept, moved = self._split(y)
        s, t = self.net(kept)
        return self._join(kept, (moved - t) * torch.exp(-s))


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """N x C x H x W to N x 4C x H/2 x W/2: each 2 x 2 patch into four channels."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of squeeze."""
    n, c, h, w = x.shape
    x = x.reshape(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, h * 2, w * 2)
