"""Paths through a latent space between two codes: straight (lerp) or along the sphere
(slerp). Gaussian latents live near a sphere of radius √d; a straight line cuts through
its inside, where codes are atypical (their decodings wash out), and slerp keeps the
norm, which is why GAN and VAE interpolations are usually drawn with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from engine.api.outcomes import ImagesOutcome, ResultImage, Sheet
from engine.api.requests import InterpolateRequest
from engine.context import JobContext

PARALLEL = 1e-6  # below this angle the two codes point the same way: slerp is lerp


def exact_or_seeded(
    code: tuple[float, ...] | None, seed: int, seed_code: Callable[[int], torch.Tensor]
) -> torch.Tensor:
    """A code given exactly (a picture kept from the sliders) as 1 x d, else the code
    seed `seed` draws: what a sample, or an end of a walk, decodes."""
    if code is not None:
        return torch.tensor([code], dtype=torch.float32)
    return seed_code(seed)


def path_between(a: torch.Tensor, b: torch.Tensor, frames: int, mode: str) -> torch.Tensor:
    """`frames` codes from a to b inclusive (frames x d); the ends are a and b exactly."""
    a, b = a.reshape(-1), b.reshape(-1)
    steps = torch.linspace(0.0, 1.0, frames, dtype=torch.float64)
    codes = torch.stack([_point(a.double(), b.double(), float(t), mode) for t in steps])
    codes = codes.to(a.dtype)
    codes[0], codes[-1] = a, b  # no rounding at the ends: they are the seeds' own samples
    return codes


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """One point on the arc from a to b (a at t = 0, b at t = 1): A1111's variation seeds."""
    if t == 0:
        return a.clone()
    point = _point(a.reshape(-1).double(), b.reshape(-1).double(), t, "slerp")
    return point.to(a.dtype).reshape(a.shape)


def _point(a: torch.Tensor, b: torch.Tensor, t: float, mode: str) -> torch.Tensor:
    if mode == "lerp":
        return (1 - t) * a + t * b
    cosine = torch.dot(a, b) / (a.norm() * b.norm())
    angle = torch.arccos(cosine.clamp(-1.0, 1.0))
    if angle < PARALLEL:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle)


def interpolation_frames(
    codes: torch.Tensor, decode_one: Callable[[torch.Tensor], np.ndarray], ctx: JobContext
) -> list[np.ndarray]:
    """Each code decoded on its own (a batch of one, as a single sample is), with
    progress and a cancel check per frame."""
    ctx.restart_clock()
    ctx.phase = "interpolating"
    frames = []
    for i in range(len(codes)):
        frames.append(decode_one(codes[i : i + 1]))
        ctx.report(i + 1, len(codes), preview=lambda rgb=frames[-1]: rgb)
    ctx.check_cancelled()
    return frames


def interpolation_outcome(
    frames: list[np.ndarray], request: InterpolateRequest, info: dict[str, Any]
) -> ImagesOutcome:
    """Frame i's recipe is the request with its index: it reproduces that frame. Kept as
    one strip when the request asks for a grid."""
    count = len(frames)
    return ImagesOutcome(
        tuple(
            ResultImage(rgb, seed=request.from_seed, index=i, info={**info, "t": i / (count - 1)})
            for i, rgb in enumerate(frames)
        ),
        Sheet.STRIP if request.grid else Sheet.NONE,
    )
