"""Drawing pixels one by one: samples, completions, and how surprising each pixel is.

Every pixel value is drawn from its softmax by inverse CDF: the first level whose
cumulative probability reaches a uniform number. The uniforms of seed s (one a pixel
value, C x H x W) are drawn up front from torch.Generator(s), so images drawn side by
side are the images their seeds draw alone. Rows below the one being drawn cannot change
its logits (the network is causal), and a pixel's logits read only the pixels within
the network's reach of it (see `reach`). The vertical stack reads only the rows above, so
its features are computed once a row, from the rows within reach; each pixel's pass runs
only the horizontal stack, along the strip of its row within reach to its left: exactly
the logits of the whole network, at a fraction of its cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import torch

from engine.api.errors import BadInput
from engine.models.pixelcnn.net import PixelCnn, pixel_log_probs
from engine.models.pixelcnn.pixels import from_levels, to_levels


def seed_noise(seeds: Iterable[int], net: PixelCnn) -> torch.Tensor:
    """N x C x H x W uniforms, image i's from seeds[i]."""
    c, size = net.config.channels, net.config.image_size
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    return torch.stack(
        [torch.rand(c, size, size, generator=g, dtype=torch.float64) for g in generators]
    )


def reach(net: PixelCnn) -> int:
    """How far a pixel's logits look: layer l's kernels reach d_l · (k//2) pixels up,
    left and right (d_l its dilation), and the vertical stack starts one row up; so rows
    i - 1 - R .. i and columns j - R .. j + R, with R the sum over the layers."""
    config = net.config
    return sum(config.dilation(layer) for layer in range(config.layers)) * (config.kernel // 2)


def row_features(net: PixelCnn, levels: torch.Tensor, i: int) -> list[torch.Tensor]:
    """Each layer's vertical features along row i (N x 2F x 1 x W), from the rows within
    reach above it only: the same for every pixel of the row, so computed once a row."""
    top = max(0, i - 1 - reach(net))
    return [v[:, :, -1:] for v in net.vertical_features(levels[:, :, top : i + 1])]


def pixel_logits(
    net: PixelCnn, levels: torch.Tensor, features: list[torch.Tensor], i: int, j: int
) -> torch.Tensor:
    """N x C x L: the logits of pixel (i, j) given its row's vertical features, from the
    strip of row i within reach to its left (the horizontal stack looks no further)."""
    left = max(0, j - reach(net))
    strip = [v[:, :, :, left : j + 1] for v in features]
    return net.horizontal_logits(levels[:, :, i : i + 1, left : j + 1], strip)[:, :, :, 0, -1]


def window_logits(net: PixelCnn, levels: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """N x C x L: the logits of pixel (i, j), from the pixels within its reach only."""
    return pixel_logits(net, levels, row_features(net, levels, i), i, j)


@torch.no_grad()
def drawing(
    net: PixelCnn,
    noise: torch.Tensor,
    start: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
    each_row: Callable[[], None] | None = None,
    temperature: float = 1.0,
    every: int = 0,
) -> Iterator[torch.Tensor]:
    """Draw the pixels in reading order (in colour R, G, then B of each); yield the
    levels (N x C x H x W) after every row (or after every `every` pixels, and after the
    last), the last being the finished images.

    `start` holds the known pixels' levels and `known` (N x H x W or H x W bool) says
    which they are: those are kept, and the pixels after them are drawn given them.
    `each_row` runs before each row (a cancel check); the logits are divided by
    `temperature` (1: the model's own distribution).
    """
    n, c, size, _ = noise.shape
    levels = torch.zeros(n, c, size, size, dtype=torch.long) if start is None else start.clone()
    keep = torch.zeros(n, size, size, dtype=torch.bool) if known is None else known
    keep = keep.expand(n, -1, -1)
    for i in range(size):
        if each_row is not None:
            each_row()
        features = row_features(net, levels, i)
        for j in range(size):
            if not bool(keep[:, i, j].all()):
                for channel in range(c):
                    logits = pixel_logits(net, levels, features, i, j)[:, channel]
                    cdf = (logits.double() / temperature).softmax(-1).cumsum(-1)
                    u = noise[:, channel, i, j, None]
                    drawn = (cdf < u).sum(-1).clamp(max=net.config.levels - 1)
                    kept = levels[:, channel, i, j]
                    levels[:, channel, i, j] = torch.where(keep[:, i, j], kept, drawn)
            done = i * size + j + 1
            if every and (done % every == 0 or done == size * size):
                yield levels.clone()
        if not every:
            yield levels.clone()


def sample(
    net: PixelCnn,
    seeds: Iterable[int],
    each_row: Callable[[], None] | None = None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """N x C x H x W images in [0, 1], image i drawn from seeds[i]."""
    noise = seed_noise(list(seeds), net)
    *_, last = drawing(net, noise, each_row=each_row, temperature=temperature)
    return from_levels(last, net.config.levels)


def checked_image(net: PixelCnn, image: torch.Tensor) -> torch.Tensor:
    """One C x H x W image in [0, 1] as 1 x C x H x W levels; BadInput for another shape."""
    config = net.config
    shape = (config.channels, config.image_size, config.image_size)
    if tuple(image.shape) != shape:
        raise BadInput(
            f"This PixelCNN reads {config.channels}-channel images of "
            f"{config.image_size}×{config.image_size} pixels; this image is "
            f"{'×'.join(str(s) for s in image.shape)}. Choose an image of the data it was "
            "trained on."
        )
    return to_levels(image[None], config.levels)


@torch.no_grad()
def surprise(net: PixelCnn, image: torch.Tensor) -> torch.Tensor:
    """H x W: −log₂ p(pixel | the pixels before it), summed over a colour pixel's
    channels (each given the channels before it). Its sum is the image's −log₂ p(x)."""
    levels = checked_image(net, image)
    return -pixel_log_probs(net(levels), levels)[0].sum(0) / math.log(2)


def completing(
    net: PixelCnn, image: torch.Tensor, known: torch.Tensor, seed: int
) -> Iterator[torch.Tensor]:
    """The unknown pixels of `image` (C x H x W in [0, 1]) drawn given the known ones
    (`known`: H x W bool), from `seed`; yields the C x H x W image in [0, 1] after every
    row. Each drawn pixel is given every pixel before it in reading order, known or drawn:
    with the upper half known, the lower half is a draw from p(lower | upper). A known
    pixel after an unknown one is kept but not looked ahead at (a PixelCNN cannot)."""
    levels = checked_image(net, image)
    size = net.config.image_size
    if tuple(known.shape) != (size, size):
        raise BadInput(
            f"The mask of known pixels is {size}×{size} like the image, not "
            f"{'×'.join(str(s) for s in known.shape)}."
        )
    known = known.bool()
    start = levels * known
    for state in drawing(net, seed_noise([seed], net), start, known):
        yield from_levels(state[0], net.config.levels)


def complete(net: PixelCnn, image: torch.Tensor, known: torch.Tensor, seed: int) -> torch.Tensor:
    """The finished completion of completing(): C x H x W in [0, 1]."""
    *_, last = completing(net, image, known, seed)
    return last
