"""Images as a PixelCNN's discrete pixels: levels in, levels out, and its settings.

Each pixel value (each channel of a colour pixel) is one of L levels, and the network
gives a softmax over them. Digits store ink as 0..16: 17 levels, the data's own. 8-bit
colour would need 256 classes a channel and a network that learns their order; shapes
(flat colours on white) keep their look at 8 levels a channel (3 bits), which a small
network learns within minutes on two cores. The likelihood is of these levels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from engine.api.errors import BadInput

DIGIT_LEVELS = 17  # the UCI digits store ink as 0..16
COLOUR_LEVELS = 8  # 8-bit colour quantised to 3 bits a channel


@dataclass(frozen=True)
class PixelcnnConfig:
    image_size: int
    channels: int  # 1 (grey) or 3 (RGB, drawn R then G then B)
    levels: int  # the values a pixel channel takes: the softmax's classes
    width: int = 32  # features of each stack (a multiple of the channels)
    layers: int = 4  # gated layers
    kernel: int = 5  # odd: the vertical stack is (k//2 + 1) x k, the horizontal 1 x (k//2 + 1)
    head: int = 64  # features of the 1 x 1 output layers
    # Layer l's kernels are dilated 2^(l mod cycle) (van den Oord et al. 2016, WaveNet):
    # the reach doubles a layer instead of growing by k//2. 1: no dilation, as in every
    # file saved before the field existed (from_dict's default).
    dilation_cycle: int = 1

    def dilation(self, layer: int) -> int:
        return 2 ** (layer % self.dilation_cycle)

    @property
    def dims(self) -> int:
        return self.channels * self.image_size**2

    def check(self) -> None:
        """BadInput with a sentence for settings no PixelCNN can be built with."""
        if self.channels not in (1, 3):
            raise BadInput(
                f"A PixelCNN draws grey or RGB images; this data has {self.channels} channels."
            )
        if self.levels < 2:
            raise BadInput(f"Pixels take at least 2 levels (got {self.levels}).")
        for name, features in (("width", self.width), ("head", self.head)):
            if features < self.channels or features % self.channels:
                raise BadInput(
                    f"A PixelCNN's {name} ({features}) is a multiple of its {self.channels} "
                    "channels: each channel has its share of the features."
                )
        if not 1 <= self.dilation_cycle <= 8:
            raise BadInput(
                f"A PixelCNN's dilation cycle is 1 (no dilation) to 8 (got {self.dilation_cycle})."
            )
        if self.layers < 1 or self.kernel < 3 or self.kernel % 2 == 0 or self.image_size < 1:
            raise BadInput(
                f"A PixelCNN needs at least one layer and an odd kernel of 3 or more (got "
                f"{self.layers} layers, kernel {self.kernel}, images {self.image_size} wide)."
            )

    def to_dict(self) -> dict:
        """The settings a file keeps; an undilated net leaves the cycle out, so its file
        is byte for byte what it was before dilation existed."""
        data = asdict(self)
        if self.dilation_cycle == 1:
            del data["dilation_cycle"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PixelcnnConfig:
        names = ("image_size", "channels", "levels", "width", "layers", "kernel", "head")
        config = cls(
            **{name: int(data[name]) for name in names},
            dilation_cycle=int(data.get("dilation_cycle", 1)),
        )
        config.check()
        return config


def levels_of(dataset: str) -> int:
    return DIGIT_LEVELS if dataset == "digits" else COLOUR_LEVELS


def to_levels(images: torch.Tensor, levels: int) -> torch.Tensor:
    """N x C x H x W values in [0, 1] as int64 levels 0..L-1 (the nearest); BadInput for
    values that are not numbers."""
    if not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images.reshape(len(images), -1))).any(1).sum())
        raise BadInput(
            f"{bad} of the {len(images)} images hold values that are not numbers "
            "(NaN or infinite). Remove or repair them and try again."
        )
    return (images.double().clamp(0, 1) * (levels - 1)).round().long()


def from_levels(levels: torch.Tensor, count: int) -> torch.Tensor:
    """int levels 0..count-1 back to float32 values in [0, 1]."""
    return levels.float() / (count - 1)


def bits_per_dim(log_prob: torch.Tensor, dims: int) -> float:
    """Mean −log₂ p(x) per pixel value, for natural-log probabilities of whole images."""
    return -log_prob.double().mean().item() / dims / math.log(2)
