"""What the Explore page shows of an RBM: its hidden units' filters, a Gibbs chain's
visible means at chosen steps, and held-out images completed by Gibbs sampling with their
upper half clamped.

A filter is a hidden unit's weights to the pixels, drawn as an image, strongest units
first by the norm of their weights, as in Hinton's practical guide (2010, §15). A grey
machine's are in a diverging colour map (warm: the unit likes ink there; blue: it likes
paper); a colour machine's are colour images themselves, each filter's weights stretched
from its own smallest (black) to its largest (full colour) in each channel. The chain's
frames come from the very noise the SAMPLE runner draws for the same seed
(engine.models.rbm.sampling), so its last frame is that sample's picture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from engine.api.errors import BadInput
from engine.models.common.images import to_rgb_uint8
from engine.models.rbm.files import LoadedRbm
from engine.models.rbm.machine import Rbm
from engine.models.rbm.sampling import chain_noise

# The steps whose visible means the filmstrip shows (those up to the chain's length, and
# its last step): roughly even on a log scale, where a chain's picture changes.
FRAME_STEPS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000)
COMPLETIONS = 4  # seeds side by side completing one digit
# The diverging map: zero is the dark background; ±the unit's largest weight is full colour.
ZERO_RGB = np.array([28, 28, 28], np.float64)
POSITIVE_RGB = np.array([255, 170, 60], np.float64)  # ink
NEGATIVE_RGB = np.array([70, 150, 255], np.float64)  # paper


@dataclass(frozen=True)
class Filter:
    unit: int  # its row in the weight matrix
    norm: float  # ‖W_j‖₂, what the filters are ordered by
    weights: np.ndarray  # H x W (grey) or C x H x W float64: the unit's weights
    rgb: np.ndarray  # H x W x 3 uint8: the diverging map, or the colour filter


def filters_of(loaded: LoadedRbm) -> list[Filter]:
    """Every hidden unit's filter, largest weight norm first (ties by unit)."""
    weights = loaded.rbm.weights.double().numpy()
    c, side = loaded.config.channels, loaded.config.image_size
    shape = (side, side) if c == 1 else (c, side, side)
    draw = diverging_rgb if c == 1 else colour_rgb
    norms = np.linalg.norm(weights, axis=1)
    order = sorted(range(len(weights)), key=lambda j: (-norms[j], j))
    return [Filter(j, float(norms[j]), (w := weights[j].reshape(shape)), draw(w)) for j in order]


def colour_rgb(weights: np.ndarray) -> np.ndarray:
    """C x H x W weights as an H x W x 3 image, stretched from the filter's smallest
    weight (black) to its largest (full brightness): the colours a unit likes to see."""
    low, high = float(weights.min()), float(weights.max())
    t = (weights - low) / max(high - low, 1e-12)
    return np.round(np.moveaxis(t, 0, -1) * 255).astype(np.uint8)


def diverging_rgb(weights: np.ndarray) -> np.ndarray:
    """Weights as colours, scaled by their own largest magnitude (so a weak unit's pattern
    is still seen; its norm says how weak it is)."""
    scale = max(float(np.abs(weights).max()), 1e-12)
    t = (weights / scale)[..., None]
    ends = np.where(t >= 0, POSITIVE_RGB, NEGATIVE_RGB)
    return np.round(ZERO_RGB + np.abs(t) * (ends - ZERO_RGB)).astype(np.uint8)


def frame_steps(steps: int) -> list[int]:
    """The steps a chain of `steps` steps shows: FRAME_STEPS up to it, and it."""
    return sorted({s for s in FRAME_STEPS if s <= steps} | {steps})


def chain_frames(
    rbm: Rbm, seed: int, steps: int, between: Callable[[int], None]
) -> Iterator[tuple[int, torch.Tensor]]:
    """(step, 1 x D mean visibles) at each of frame_steps(steps) of seed's chain, which
    draws exactly what sampling.gibbs_draws draws; `between(frame)` runs after each frame
    (progress and cancel)."""
    start, noise = chain_noise(seed, steps, rbm)
    v = mean = start[None]
    done = 0
    for frame, step in enumerate(frame_steps(steps)):
        for k in range(done, step):
            _h, mean, v = rbm.gibbs(v, noise[None, k])
        done = step
        yield step, mean
        between(frame)


def clamped_pixels(side: int, channels: int = 1) -> torch.Tensor:
    """D booleans: the upper half's rows (the first side // 2 of them, in every channel)
    are clamped."""
    mask = torch.zeros(channels, side, side, dtype=torch.bool)
    mask[:, : side // 2] = True
    return mask.reshape(-1)


def complete(
    rbm: Rbm, image: torch.Tensor, clamped: torch.Tensor, seed: int, steps: int
) -> torch.Tensor:
    """Seed's completion of an image as visibles (D): its clamped pixels fixed, the others
    started at random and Gibbs-sampled for `steps` steps. The picture is the free pixels'
    mean visibles beside the clamped pixels themselves (binary: exactly 0 or 1)."""
    image = image.to(rbm.weights.dtype)
    start, noise = chain_noise(seed, steps, rbm)
    v = torch.where(clamped, image, start)[None]
    mean = v
    for k in range(steps):
        _h, mean, v = rbm.gibbs(v, noise[None, k])
        v = torch.where(clamped, image, v)
    return torch.where(clamped, image, mean)


def as_rgb(points: torch.Tensor, loaded: LoadedRbm) -> np.ndarray:
    """N x D visibles as N x H x W x 3 uint8 (as the SAMPLE runner draws them)."""
    return to_rgb_uint8(loaded.pictures(points))


def require_digits(images: torch.Tensor | None, loaded: LoadedRbm, name: str) -> torch.Tensor:
    """The held-out images, N x C x H x W; BadInput when there are none, or they are not
    the model's size."""
    config = loaded.config
    shape = (config.channels, config.image_size, config.image_size)
    if images is None or len(images) == 0:
        raise BadInput(
            f"The images {name} was trained on are not here, so there is no held-out digit "
            "or image to complete. Untick “Complete held-out image” to see its filters and "
            "chain."
        )
    if tuple(images.shape[1:]) != shape:
        raise BadInput(
            f"The held-out images are {tuple(images.shape[1:])}, but {name} models "
            f"{shape} images; there is no held-out image of its size to complete."
        )
    return images
