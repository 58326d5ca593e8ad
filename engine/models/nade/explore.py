"""What the Lab's Explore tools ask of a NADE: how surprising each pixel of an image is,
the rest of an image given part of it, and a sample drawn pixel by pixel to watch.

Images are H x W (or 1 x H x W) with the model's pixel count; grey ones are binarised at
half their brightest value (a binary image stays as it is).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from engine.api.errors import BadInput
from engine.models.common.binary_pixels import binarise
from engine.models.nade.network import Nade
from engine.models.nade.sampling import frames, last, pixel_noise

UNDRAWN = 0.5  # an animation's pixels not drawn yet: grey


def _flat(nade: Nade, image: torch.Tensor, what: str = "image") -> torch.Tensor:
    if image.numel() != nade.visible:
        raise BadInput(
            f"This NADE models {nade.visible} black-and-white pixels; the {what} has "
            f"{image.numel()} values (shape {tuple(image.shape)}). Give a grey image of the "
            "size it was trained on."
        )
    return image.reshape(1, -1)


def _side(image: torch.Tensor) -> tuple[int, int]:
    return tuple(image.shape[-2:])  # type: ignore[return-value]


def surprise(nade: Nade, image: torch.Tensor) -> torch.Tensor:
    """H x W bits: −log₂ p(v_d | v_<d) of each pixel of the binarised image (their sum
    is −log₂ p(image))."""
    v = binarise(_flat(nade, image)).to(nade.weights_in.dtype)
    with torch.no_grad():
        nats = nade.pixel_nats(v)[0]
    return (nats / math.log(2)).reshape(_side(image))


def complete(nade: Nade, image: torch.Tensor, known_mask: torch.Tensor, seed: int) -> torch.Tensor:
    """H x W binary: the known pixels of the binarised image as they are, the others drawn
    in raster order given every pixel before them (noise from torch.Generator(seed)).

    With the known pixels first in raster order (the upper half known, the lower half
    drawn) this is exact sampling from p(unknown | known). Where an unknown pixel comes
    before a known one, it is drawn without seeing that later pixel: a plausible guess,
    not the exact conditional (which would need a sum over every completion)."""
    v = binarise(_flat(nade, image)).to(nade.weights_in.dtype)
    known = _flat(nade, known_mask, "mask of known pixels").bool()
    noise = pixel_noise(nade, [seed])
    return last(frames(nade, noise, v, known)).pixels[0].reshape(_side(image))


def drawing(nade: Nade, seed: int, size: int, every: int = 1) -> Iterator[torch.Tensor]:
    """size x size pictures of the sample of `seed` being drawn: one after every `every`
    pixels (and after the last), undrawn pixels grey. Its last picture is the sample."""
    if size * size != nade.visible or every < 1:
        raise BadInput(
            f"A drawing of this NADE is {math.isqrt(nade.visible)} pixels wide, a frame at "
            f"least every pixel (got {size} wide, every {every})."
        )
    for frame in frames(nade, pixel_noise(nade, [seed])):
        if (frame.pixel + 1) % every == 0 or frame.pixel == nade.visible - 1:
            picture = frame.pixels[0].clone()
            picture[frame.pixel + 1 :] = UNDRAWN
            yield picture.reshape(size, size)
