"""Drawing pixels one at a time, in raster order: samples, completions, and the frames
of both for an animation.

Every draw compares a uniform number with the pixel's probability; row i's numbers come
from torch.Generator(seed_i), one a pixel, drawn up front. So a batch of seeds gives the
pictures those seeds give alone, and a completion of seed s uses the same numbers as a
sample of seed s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from engine.models.nade.network import Nade


@dataclass(frozen=True)
class Frame:
    """The pictures after pixel `pixel` was drawn (or kept): N x D pixels so far (0 after
    `pixel`) and each drawn pixel's probability of ink given those before it."""

    pixel: int
    pixels: torch.Tensor
    probabilities: torch.Tensor


def pixel_noise(nade: Nade, seeds: Iterable[int]) -> torch.Tensor:
    """len(seeds) x D uniforms, row i from torch.Generator(seeds[i])."""
    dtype = nade.weights_in.dtype
    rows = [
        torch.rand(nade.visible, generator=torch.Generator().manual_seed(s), dtype=dtype)
        for s in seeds
    ]
    return torch.stack(rows)


@torch.no_grad()
def frames(
    nade: Nade,
    noise: torch.Tensor,
    given: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
) -> Iterator[Frame]:
    """Ancestral sampling, one frame per pixel. Where `known` (N x D bool) is set the
    pixel of `given` (N x D) is kept and conditioned on, not drawn."""
    n, dims = noise.shape
    pixels = torch.zeros_like(noise)
    probabilities = torch.zeros_like(noise)
    pre = nade.hidden_bias.detach().expand(n, -1).clone()
    for d in range(dims):
        p = torch.sigmoid(nade.next_logit(pre, d))
        drawn = (noise[:, d] < p).to(noise.dtype)
        if known is not None and given is not None:
            drawn = torch.where(known[:, d], given[:, d].to(noise.dtype), drawn)
        pixels[:, d], probabilities[:, d] = drawn, p
        pre += drawn[:, None] * nade.weights_in[:, d]
        yield Frame(d, pixels.clone(), probabilities.clone())


def last(sequence: Iterator[Frame]) -> Frame:
    frame = None
    for frame in sequence:  # noqa: B007 (the last one is the answer)
        pass
    if frame is None:
        raise ValueError("a NADE over no pixels draws nothing")
    return frame


def draws(nade: Nade, seeds: Iterable[int]) -> torch.Tensor:
    """len(seeds) x D binary samples, sample i from seeds[i]."""
    return last(frames(nade, pixel_noise(nade, seeds))).pixels


def pictures(nade: Nade, seeds: Iterable[int]) -> torch.Tensor:
    """len(seeds) x D pictures of the samples of `seeds`: each pixel's probability of ink
    given the pixels drawn before it, as the RBM shows its mean visibles and Larochelle &
    Murray their samples. The binary draw is this picture thresholded by the seed's own
    numbers; grey shows how sure the model was. Measured by the meter (made on grey
    digits): the binary draws of nade-digits score 0.11 recognisable (stray and missing
    pixels put them far from every grey digit), these pictures 0.55; real held-out digits
    binarised score 0.66."""
    return last(frames(nade, pixel_noise(nade, seeds))).probabilities
