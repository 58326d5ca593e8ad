"""Test support for the compiled-UNet and offload tests: a stand-in for torch.compile's
module, and the one small float picture they compare pixels with."""

from __future__ import annotations

import numpy as np
import torch


class CompileStandIn(torch.nn.Module):
    """torch.compile's module without inductor: the same numbers, its calls counted, and
    the wrapped UNet's attributes (config, dtype) read through, as OptimizedModule does."""

    calls = 0

    def __init__(self, unet: torch.nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, *args, **kwargs):
        CompileStandIn.calls += 1
        return self.unet(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["unet"], name)


def draw(pipe) -> np.ndarray:
    """A 64² picture in 2 steps, as floats in [0, 1]: a pixel rounded to uint8 could hide
    or exaggerate a difference of float reassociation."""
    return pipe(
        "a lighthouse",
        width=64,
        height=64,
        num_inference_steps=2,
        generator=torch.Generator("cpu").manual_seed(7),
        output_type="np",
    ).images
