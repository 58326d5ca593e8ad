"""The NADE itself: one hidden layer shared by every pixel's conditional.

Larochelle & Murray (2011), equations 4–6, with pixels in raster order:
    h_d = σ(c + W[:, <d] v_<d)            (H hidden units, the same W for every d)
    p(v_d = 1 | v_<d) = σ(b_d + V_d · h_d)
The pre-activation c + W[:, <d] v_<d grows by one column of W per pixel, so all D
conditionals cost O(DH) (a running sum), not O(D²H): the paper's point.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

KEYS = ("weights_in", "hidden_bias", "weights_out", "visible_bias")


class Nade(nn.Module):
    """W (H x D) and c (H) into the hidden layer; V (D x H) and b (D) out to the pixels."""

    def __init__(self, visible: int, hidden: int) -> None:
        super().__init__()
        self.weights_in = nn.Parameter(torch.zeros(hidden, visible))
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))
        self.weights_out = nn.Parameter(torch.zeros(visible, hidden))
        self.visible_bias = nn.Parameter(torch.zeros(visible))

    @property
    def visible(self) -> int:
        return self.weights_in.shape[1]

    @property
    def hidden(self) -> int:
        return self.weights_in.shape[0]

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        return {prefix + k: getattr(self, k).detach().contiguous() for k in KEYS}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "") -> Nade | None:
        """The NADE those tensors hold, or None when one is missing or the shapes disagree."""
        found = [tensors.get(prefix + k) for k in KEYS]
        if any(t is None for t in found):
            return None
        w, c, v, b = found
        h, d = w.shape if w.dim() == 2 else (0, 0)
        if h < 1 or (c.shape, v.shape, b.shape) != ((h,), (d, h), (d,)):
            return None
        nade = cls(d, h).to(w.dtype)
        with torch.no_grad():
            for key, tensor in zip(KEYS, found, strict=True):
                getattr(nade, key).copy_(tensor)
        return nade

    def logits(self, v: torch.Tensor) -> torch.Tensor:
        """N x D log-odds of p(v_d = 1 | v_<d), every d at once by a running sum."""
        steps = v[:, :, None] * self.weights_in.T[None]  # N x D x H: pixel d's column
        before = torch.cumsum(steps[:, :-1], dim=1)  # what pixels < d add, for d ≥ 1
        pre = torch.cat([torch.zeros_like(steps[:, :1]), before], dim=1) + self.hidden_bias
        return self.visible_bias + (torch.sigmoid(pre) * self.weights_out).sum(-1)

    def pixel_nats(self, v: torch.Tensor) -> torch.Tensor:
        """N x D −log p(v_d | v_<d) in nats."""
        return F.binary_cross_entropy_with_logits(self.logits(v), v, reduction="none")

    def log_prob(self, v: torch.Tensor) -> torch.Tensor:
        """log p(v) of N binary rows, exactly: the sum of the conditionals'."""
        return -self.pixel_nats(v).sum(1)

    def next_logit(self, pre: torch.Tensor, d: int) -> torch.Tensor:
        """Pixel d's log-odds given the hidden pre-activations of the pixels before it
        (N x H); a row's answer never depends on the other rows."""
        return self.visible_bias[d] + (torch.sigmoid(pre) * self.weights_out[d]).sum(-1)


def bits_per_dim(log_prob: torch.Tensor, dims: int) -> float:
    """The mean negative log-likelihood of binary pixels, in bits per pixel."""
    return -log_prob.double().mean().item() / dims / math.log(2)
