"""Images as an RBM's binary visibles: binarised, flattened, and back.

A Bernoulli RBM's visibles are 0 or 1, so a pixel is ink where it is over half the data's
brightest value (digits: over 8 of 16). Only grey images binarise into something a person
still recognises; colour is refused with a sentence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from engine.api.errors import BadInput

COLOUR_REFUSED = (
    "a binary RBM models black-and-white pixels; choose digits (or a folder of grey "
    "images), not a colour data set"
)


@dataclass(frozen=True)
class RbmConfig:
    image_size: int
    channels: int
    hidden: int

    @property
    def dims(self) -> int:
        return self.channels * self.image_size**2

    def check(self) -> None:
        """BadInput with a sentence for settings no binary RBM can be trained with."""
        if self.channels != 1:
            raise BadInput(f"This data set has {self.channels} colour channels: {COLOUR_REFUSED}.")
        if self.hidden < 1:
            raise BadInput(f"An RBM needs at least one hidden unit (got {self.hidden}).")
        if self.image_size < 1:
            raise BadInput(f"An image is at least one pixel wide (got {self.image_size}).")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RbmConfig:
        config = cls(int(data["image_size"]), int(data["channels"]), int(data["hidden"]))
        config.check()
        return config


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


def as_images(points: torch.Tensor, config: RbmConfig) -> torch.Tensor:
    """N x D pixel values in [0, 1] to N x C x H x W float32."""
    shape = (len(points), config.channels, config.image_size, config.image_size)
    return points.reshape(shape).float()
