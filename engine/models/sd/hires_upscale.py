"""Hires fix's enlargement of the first pass: a resampler (Lanczos, bicubic) with Pillow,
A1111's "Latent" (the latents themselves, bilinear), or any upscaler model the Upscale
mode knows, run by the Upscale mode's own runner (its tiling, fp16 and out-of-memory
retry; the model families do not import each other, so it is reached through the
registry). A model's own factor is then brought to the exact size with Lanczos, as
A1111 does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.api.catalogue import is_resampler
from engine.api.events import Event, Progress
from engine.api.kinds import Family, Task
from engine.api.parts import ImageRef, ModelRef, Size
from engine.api.requests import UpscaleRequest
from engine.context import JobContext
from engine.registry import RunnerEnv, runner_class

_RESAMPLE = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}

PixelUpscaler = Callable[[Image.Image, Size], Image.Image]


def upscale_latents(latents: torch.Tensor, size: Size, scale_factor: int) -> torch.Tensor:
    """A1111's "Latent" upscaler: bilinear, no antialiasing, to the target's latent size."""
    shape = (size.height // scale_factor, size.width // scale_factor)
    return F.interpolate(latents, size=shape, mode="bilinear", align_corners=False)


def pixel_upscaler(
    env: RunnerEnv, ref: ModelRef, ctx: JobContext, offset: int, total: int
) -> PixelUpscaler:
    """How one picture is enlarged to a size: by a resampler, or by an upscaler model."""
    if is_resampler(ref):
        method = _RESAMPLE[ref.id]
        return lambda image, size: image.resize((size.width, size.height), method)
    return lambda image, size: _model_pass(env, ref, image, ctx, offset, total).resize(
        (size.width, size.height), Image.Resampling.LANCZOS
    )


def _model_pass(
    env: RunnerEnv, ref: ModelRef, image: Image.Image, ctx: JobContext, offset: int, total: int
) -> Image.Image:
    """The upscaler model's own factor, through the Upscale runner. The picture goes to
    it as a lossless PNG in a temporary folder (its input is a file), removed at once."""
    with tempfile.TemporaryDirectory(prefix="latent-studio-hires-") as folder:
        path = Path(folder) / "first-pass.png"
        image.save(path)
        request = UpscaleRequest(model=ref, image=ImageRef(str(path), ""), save=False)
        upscale = runner_class(Task.UPSCALE, Family.UPSCALE)(env)
        outcome = upscale.run(request, _upscale_context(ctx, offset, total))
    return Image.fromarray(np.ascontiguousarray(outcome.images[0].rgb[:, :, :3]))


def _upscale_context(ctx: JobContext, offset: int, total: int) -> JobContext:
    """The Upscale runner's progress (tiles) shown as a message at the hires job's step,
    so the step count stays the job's; cancel is the job's own."""

    def emit(event: Event) -> None:
        if isinstance(event, Progress):
            words = event.message or f"{event.step} of {event.total}"
            ctx.emit(Progress(ctx.job_id, offset, total, message=f"Upscaling: {words}"))

    return JobContext(ctx.job_id, emit=emit, control=ctx.control, previews=False)
