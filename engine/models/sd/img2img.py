"""Image to image: diffusers' own img2img pipeline, built from the cached pipeline's
components (nothing is loaded twice), on the source fitted to the output size.

Strength s of n steps runs int(n × s) steps, as diffusers and A1111 do; progress counts
those. When that is 0 (strength 0, or 0.04 of 20 steps) no step would run and
diffusers fails; the result is then the fitted source itself, with a note.

A1111's variation seeds: diffusers' img2img takes no starting noise, but it adds its
noise to the encoded source through the scheduler's add_noise; for the one call, that is
wrapped to slerp the noise (exactly what the seed gives) towards the variation seed's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import torch
from diffusers import (
    StableDiffusionImg2ImgPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLPipeline,
)
from diffusers.utils.torch_utils import randn_tensor

from engine.api.parts import Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.common.latent_paths import slerp
from engine.models.sd.pipeline_call import (
    Drawn,
    default_generators,
    prompt_arguments,
    sampling_settings,
    step_reporter,
)
from engine.models.sd.sibling_pipeline import sibling_pipeline
from engine.models.sd.source import load_source


def steps_run(steps: int, strength: float) -> int:
    """The steps img2img runs: diffusers' get_timesteps (and A1111's) int(steps × strength)."""
    return min(int(steps * strength), steps)


def img2img_pipeline(pipe: Any) -> Any:
    """The img2img pipeline of the same components, sharing every weight."""
    if isinstance(pipe, StableDiffusionXLPipeline):
        return sibling_pipeline(StableDiffusionXLImg2ImgPipeline, pipe)
    return sibling_pipeline(StableDiffusionImg2ImgPipeline, pipe)


def draw_img2img(
    pipe: Any, request: Txt2ImgRequest, ctx: JobContext, family: str, guide: Any = None
) -> Drawn:
    part = request.source
    source = load_source(part.image, request.size, part.resize_mode)
    ctx.check_cancelled()
    steps = steps_run(request.sampling.steps, part.strength)
    notes = list(source.notes)
    if steps == 0:
        notes.append(_no_step_note(request.sampling.steps, part.strength))
        pixels = np.asarray(source.image, np.float32) / 255.0
        images = np.repeat(pixels[None], request.batch_size, axis=0)
    else:
        images = denoise_image(
            pipe,
            request,
            ctx,
            family,
            source.image,
            part.strength,
            request.sampling.steps,
            guide=guide,
        )
    info = {
        "denoising_strength": part.strength,
        "steps_run": steps,
        "resize_mode": part.resize_mode,
        "source": source.info,
        "notes": notes,
    }
    return Drawn(images, info)


def denoise_image(
    pipe: Any,
    request: Txt2ImgRequest,
    ctx: JobContext,
    family: str,
    image: Any,
    strength: float,
    steps: int,
    offset: int = 0,
    total: int | None = None,
    guide: Any = None,
    size: Size | None = None,
) -> np.ndarray:
    """One img2img call: `image` is one picture for the whole batch, a list of one per
    batch image, or latents (4 channels: not encoded again). Image i uses seed + i.
    `guide` adds control units, their maps at `size` (the request's by default)."""
    control: dict[str, Any] = {}
    if guide is None:
        img2img = img2img_pipeline(pipe)
    else:
        img2img = guide.pipeline(pipe, "img2img")
        control = guide.arguments("img2img", size or request.size)
    generators = default_generators(request.sampling.seed, request.batch_size)
    reporter = step_reporter(ctx, steps_run(steps, strength), family, offset, total)
    soft = guide.soft() if guide is not None else nullcontext()
    with _variation_noise(img2img.scheduler, request), soft:
        return img2img(
            **prompt_arguments(img2img, request),
            **sampling_settings(request) | {"num_inference_steps": steps},
            image=image,
            strength=strength,
            num_images_per_prompt=request.batch_size,
            generator=generators,
            callback_on_step_end=reporter,
            **control,
        ).images


@contextmanager
def _variation_noise(scheduler: Any, request: Txt2ImgRequest) -> Iterator[None]:
    """For one call, the noise added to the source moves `variation_strength` of the way
    (slerp) towards the variation seed's; nothing changes without a variation."""
    if not request.variation_strength:
        yield
        return
    add_noise = scheduler.add_noise

    def with_variation(latents: torch.Tensor, noise: torch.Tensor, timesteps: Any) -> Any:
        mixed = torch.cat(
            [
                slerp(row[None], variation_noise(row, request.variation_seed + i), strength)
                for i, row in enumerate(noise)
            ]
        )
        return add_noise(latents, mixed, timesteps)

    strength = request.variation_strength
    scheduler.add_noise = with_variation  # this instance only: the job's own scheduler
    try:
        yield
    finally:
        del scheduler.add_noise


def variation_noise(like: torch.Tensor, seed: int) -> torch.Tensor:
    """The variation seed's noise for one image, drawn on the CPU (the same on every
    device, as the seed's own)."""
    generator = torch.Generator("cpu").manual_seed(seed)
    noise = randn_tensor((1, *like.shape), generator=generator, device=torch.device("cpu"))
    return noise.to(like.device, like.dtype)


def _no_step_note(steps: int, strength: float) -> str:
    return (
        f"strength {strength:g} of {steps} steps runs no step (int({steps} × {strength:g}) "
        "= 0): the result is the source as resized, unchanged"
    )
