"""Latent arithmetic, A − B + C: the classic "man with glasses − man + woman" of the
DCGAN paper (Radford et al. 2016), on a VAE's or a GAN's codes."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.api.outcomes import ImagesOutcome, ResultImage, Sheet
from engine.api.requests import ArithmeticRequest

OPERANDS = ("A", "B", "C", "A − B + C")


def arithmetic_outcome(
    images: list[np.ndarray], request: ArithmeticRequest, info: dict[str, Any]
) -> ImagesOutcome:
    """A, B, C (the samples of their seeds) and the result, each saying which it is;
    kept as one strip with the signs drawn when the request asks for a grid."""
    seeds = (request.a, request.b, request.c, None)
    return ImagesOutcome(
        tuple(
            ResultImage(rgb, seed=seed, index=i, info={**info, "operand": OPERANDS[i]})
            for i, (rgb, seed) in enumerate(zip(images, seeds, strict=True))
        ),
        Sheet.EQUATION if request.grid else Sheet.NONE,
    )
