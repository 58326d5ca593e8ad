"""Images as binary pixels, for the families that model black-and-white (RBM, NADE).

A binary model's pixels are 0 or 1, so a pixel is ink where it is over half the data's
brightest value (digits: over 8 of 16). Only grey images binarise into something a person
still recognises; colour is refused with a sentence. Training sees the bundled digits
without the part the quality meter holds out, as every family's digits preset does.
"""

from __future__ import annotations

import torch

from engine.api.errors import BadInput
from engine.train.datasets import ArrayData, ShapesSource


def colour_refused(title: str) -> str:
    """The reason a colour data set is refused (a clause: the caller says what it got)."""
    return (
        f"a binary {title} models black-and-white pixels; choose digits (or a folder of "
        "grey images), not a colour data set"
    )


def binarise(images: torch.Tensor) -> torch.Tensor:
    """N x C x H x W images (any scale) as N x D float64 of 0 and 1: over half the maximum
    is ink. BadInput for values that are not numbers."""
    flat = images.reshape(len(images), -1).double()
    if not bool(torch.isfinite(flat).all()):
        bad = int((~torch.isfinite(flat)).any(1).sum())
        raise BadInput(
            f"{bad} of the {len(flat)} training images hold values that are not numbers "
            "(NaN or infinite). Remove or repair them and train again."
        )
    top = flat.max().clamp_min(1e-12)
    return (flat > 0.5 * top).double()


def binary_training_images(data: ArrayData | ShapesSource, title: str) -> torch.Tensor:
    """The bundled digits without the meter's held-out part, or every image of a set;
    shapes (drawn in colour) are refused."""
    if isinstance(data, ShapesSource):  # a config's channel check refuses them first
        raise BadInput(f"Shapes are drawn in colour: {colour_refused(title)}.")
    if data.info.name == "digits":
        from engine.quality.splits import digit_splits

        x, _y, split = digit_splits()
        if len(x) == len(data.images):
            keep = torch.cat([split["train"], split["calibrate"]]).sort().values
            return data.images[keep]
    return data.images
