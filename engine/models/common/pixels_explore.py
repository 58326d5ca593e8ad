"""Explore → Pixel by pixel, for any autoregressive family (NADE, PixelCNN): the runner
that turns a family's three explore functions into the page's answers.

A family plugs in by registering a subclass of PixelsRunner for Task.PIXELS whose `open`
returns its model as an Autoregressive (the functions with the model bound), and by
listing "pixels" in its spec's explore_tools. Pictures are H x W (grey) or C x H x W in
[0, 1]; images go in as 1 x C x H x W in [0, 1], as the held-out data set holds them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.api.limits import DRAWING_FRAMES
from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.api.requests import PixelsRequest
from engine.context import JobContext
from engine.models.common.held_out import HeldOutImages
from engine.models.common.images import to_rgb_uint8

# A heat ramp from black through purple and orange to pale yellow (after matplotlib's
# "inferno"): dark is unsurprising, bright is the model's surprise.
HEAT = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float64
)


@dataclass(frozen=True)
class Autoregressive:
    """A family's explore functions with its model bound (engine.models.nade.explore)."""

    surprise: Callable[[torch.Tensor], torch.Tensor]  # image -> H x W bits, −log₂ p each
    complete: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]  # image, H x W known, seed
    drawing: Callable[[int, int, int], Iterator[torch.Tensor]]  # seed, size, every -> pictures
    channels: int
    image_size: int
    meta: dict[str, Any]  # the file's meta: which data set the held-out image comes from


class PixelsRunner:
    """Frames of a sample being drawn, or a held-out image's completions and surprise."""

    def __init__(self) -> None:
        self.held_out = HeldOutImages()

    def open(self, request: PixelsRequest, ctx: JobContext) -> tuple[Autoregressive, dict]:
        """The model, and the info every image of its answer records."""
        raise NotImplementedError

    def threads(self) -> AbstractContextManager[Any]:
        """Where the family's functions run (a NADE's tiny products: on one torch thread)."""
        return nullcontext()

    def run(self, request: PixelsRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        model, info = self.open(request, ctx)
        ctx.restart_clock()
        with self.threads():
            if request.what == "draw":
                images = self._draw(model, request, ctx)
            else:
                images = self._image(model, request, ctx)
        ctx.check_cancelled()
        return ImagesOutcome(
            tuple(
                ResultImage(rgb, seed, i, {**info, **about})
                for i, (rgb, seed, about) in enumerate(images)
            )
        )

    def _draw(self, model: Autoregressive, request: PixelsRequest, ctx: JobContext) -> list:
        ctx.phase = "drawing pixels"
        pixels = model.image_size**2
        every = math.ceil(pixels / DRAWING_FRAMES)
        total = math.ceil(pixels / every)
        images = []
        for number, picture in enumerate(model.drawing(request.seed, model.image_size, every)):
            ctx.check_cancelled()  # between frames
            drawn = min(pixels, (number + 1) * every)
            about = {"frame": number, "frames": total, "drawn": drawn}
            images.append((picture_rgb(picture), request.seed, about))
            ctx.report(number + 1, total)
        return images

    def _image(self, model: Autoregressive, request: PixelsRequest, ctx: JobContext) -> list:
        ctx.phase = "completing the image"
        size = model.image_size
        image = self.held_out.pick(
            model.meta,
            model.channels,
            size,
            request.image_index,
            request.model.name,
            without="Choose Watch it draw instead.",
        )
        images = [
            (picture_rgb(image[0]), None, {"role": "image", "image_index": request.image_index})
        ]
        known = torch.zeros(size, size, dtype=torch.bool)
        known[: size // 2] = True  # the upper half kept, the lower half drawn
        for seed in range(request.seed, request.seed + request.completions):
            ctx.check_cancelled()
            completion = model.complete(image, known, seed)
            images.append(
                (picture_rgb(completion), seed, {"role": "completion", "kept_rows": size // 2})
            )
            ctx.report(len(images) - 1, request.completions + 1)
        bits = model.surprise(image).double()
        top = max(1.0, float(bits.max()))
        about = {
            "role": "surprise",
            "image_index": request.image_index,
            "bits": float(bits.sum()),
            "max_bits": top,
            "pixel_bits": bits.tolist(),
        }
        images.append((heat_map(bits, top), None, about))
        return images


def picture_rgb(picture: torch.Tensor) -> np.ndarray:
    """H x W or C x H x W in [0, 1] -> H x W x 3 uint8."""
    grey = picture.float()
    return to_rgb_uint8((grey[None] if grey.dim() == 2 else grey)[None])[0]


def heat_map(bits: torch.Tensor, top: float) -> np.ndarray:
    """H x W bits as H x W x 3 uint8 on the HEAT ramp, 0 to `top` bits."""
    where = np.clip(bits.numpy() / top, 0, 1) * (len(HEAT) - 1)
    stops = np.arange(len(HEAT))
    rgb = [np.interp(where, stops, HEAT[:, c]) for c in range(3)]
    return np.round(np.stack(rgb, -1)).astype(np.uint8)
