"""What Explore → Pixel by pixel (engine.models.common.pixels_explore) asks of a PixelCNN,
in the shapes it asks for: a 1 x C x H x W image's surprise map and completion, and a
seed's drawing frame by frame with the pixels not drawn yet grey."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from engine.models.pixelcnn import sampling
from engine.models.pixelcnn.net import PixelCnn
from engine.models.pixelcnn.pixels import from_levels

UNDRAWN = 0.5  # an animation's pixels not drawn yet: grey, as the NADE's


def surprise(net: PixelCnn, image: torch.Tensor) -> torch.Tensor:
    return sampling.surprise(net, image[0])


def complete(net: PixelCnn, image: torch.Tensor, known: torch.Tensor, seed: int) -> torch.Tensor:
    return sampling.complete(net, image[0], known, seed)


def drawing(net: PixelCnn, seed: int, size: int, every: int) -> Iterator[torch.Tensor]:
    """C x H x W pictures in [0, 1] after every `every` pixels and after the last; the
    last is the seed's sample (the same numbers as the SAMPLE runner's)."""
    noise = sampling.seed_noise([seed], net)
    drawn = torch.zeros(size * size, dtype=torch.bool)
    for frame, levels in enumerate(sampling.drawing(net, noise, every=every)):
        drawn[: (frame + 1) * every] = True
        picture = from_levels(levels, net.config.levels)[0]
        mask = drawn.view(1, size, size).expand_as(picture)
        yield torch.where(mask, picture, torch.full_like(picture, UNDRAWN))
