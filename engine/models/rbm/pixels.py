"""Images as an RBM's binary visibles: its settings, and pixels back to images.

Binarising (over half the brightest value is ink) and the refusal of colour are shared
with the other binary family: engine.models.common.binary_pixels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from engine.api.errors import BadInput
from engine.models.common.binary_pixels import colour_refused

COLOUR_REFUSED = colour_refused("RBM")


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


def as_images(points: torch.Tensor, config: RbmConfig) -> torch.Tensor:
    """N x D pixel values in [0, 1] to N x C x H x W float32."""
    shape = (len(points), config.channels, config.image_size, config.image_size)
    return points.reshape(shape).float()
