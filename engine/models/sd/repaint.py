"""Inpainting and outpainting as a request asks for them (a source with a mask or an
outpaint): engine.models.sd.inpaint does the repainting; this module feeds it.

The source is read by source.load_source (the one reader: notes, a changed sha256, the
size limit, conversions) and the mask by source.load_mask, fitted the same way. The
prompt, generators (image i: seed + i), step reporter and variation seeds are those
every Stable Diffusion call shares. Strength s of n steps runs int(n × s) steps, as
diffusers' inpaint pipelines do; progress and the recipe count those.

An outpaint's output is the request's size: the source is fitted to that size less the
sides, so the extended canvas is exactly what the model draws (and what the memory
check measures). With a mask too, the mask gives the options (content, colour match…)
and the outpaint's new area is what is repainted; the mask file is not read.

A batch whose starting picture depends on the seed (latent noise or nothing, whose
latents are drawn or encoded from the seed; an outpaint's noise fill) is drawn one
image at a time, so that image i is the one its own seed draws alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from engine.api.errors import BadInput
from engine.api.parts import Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.common.latent_paths import slerp
from engine.models.sd import masking
from engine.models.sd.control.ip_adapter import ip_adapter_arguments
from engine.models.sd.img2img import steps_run, variation_noise
from engine.models.sd.inpaint import LATENT_CONTENTS, Denoise, Inpainted, inpaint, outpaint
from engine.models.sd.pipeline_call import (
    Drawn,
    default_generators,
    prompt_arguments,
    step_reporter,
)
from engine.models.sd.source import FittedMask, FittedSource, load_mask, load_source

MIN_SOURCE_SIDE = 8  # px: what an outpaint must leave of the output for the source


def repaints(request: Txt2ImgRequest) -> bool:
    """Whether the request inpaints or outpaints (a mask or an outpaint on a source)."""
    return request.source is not None and (request.mask is not None or request.outpaint is not None)


def one_at_a_time(request: Txt2ImgRequest) -> bool:
    """Whether the batch is drawn one image per call (see the module's docstring)."""
    content = request.mask.content if request.mask is not None else "original"
    noise_fill = request.outpaint is not None and request.outpaint.fill == "noise"
    return request.batch_size > 1 and (content in LATENT_CONTENTS or noise_fill)


def repaint_total(request: Txt2ImgRequest) -> int:
    """The steps that run, as progress counts them."""
    run = steps_run(request.sampling.steps, request.source.strength)
    return run * request.batch_size if one_at_a_time(request) else run


def source_size(request: Txt2ImgRequest) -> Size:
    """The size the source is fitted to: the output's, less an outpaint's sides."""
    out = request.outpaint
    if out is None:
        return request.size
    width = request.size.width - out.left - out.right
    height = request.size.height - out.top - out.bottom
    if min(width, height) < MIN_SOURCE_SIDE:
        raise BadInput(
            f"The outpaint adds {out.left + out.right} × {out.top + out.bottom} px to a "
            f"{request.size} output, which leaves the source {width} × {height} px. Make "
            "the output larger or the outpaint smaller."
        )
    return Size(width, height)


def draw_repaint(
    pipe: Any, request: Txt2ImgRequest, ctx: JobContext, family: str, guide: Any = None
) -> Drawn:
    part = request.source
    source = load_source(part.image, source_size(request), part.resize_mode)
    mask = None
    if request.outpaint is None:
        mask = load_mask(request.mask.image, source, request.size, part.resize_mode)
    ctx.check_cancelled()
    run = steps_run(request.sampling.steps, part.strength)
    notes = list(source.notes) + list(mask.notes if mask else ())
    if run == 0:
        notes.append(_no_step_note(request.sampling.steps, part.strength))
        result = Inpainted(_unchanged(request, source))
    else:
        result = _repainted(pipe, request, ctx, family, source, mask, guide)
    info: dict[str, Any] = {
        "denoising_strength": part.strength,
        "steps_run": run,
        "resize_mode": part.resize_mode,
        "source": source.info,
        **({"mask": mask.info} if mask else {}),
        **result.info,
        "notes": notes + result.notes,
    }
    return Drawn(result.images.astype(np.float32) / 255.0, info)


def _repainted(
    pipe: Any,
    request: Txt2ImgRequest,
    ctx: JobContext,
    family: str,
    source: FittedSource,
    mask: FittedMask | None,
    guide: Any = None,
) -> Inpainted:
    """The batch in one call, or one call per image; their info and notes are alike."""
    rgb = np.asarray(source.image)
    count = 1 if one_at_a_time(request) else request.batch_size
    results = [
        _call(pipe, request, rgb, mask, _job(pipe, request, ctx, family, first, count, guide))
        for first in range(0, request.batch_size, count)
    ]
    images = np.concatenate([result.images for result in results])
    return Inpainted(images, results[0].info, results[0].notes)


def _call(
    pipe: Any, request: Txt2ImgRequest, rgb: np.ndarray, mask: FittedMask | None, job: Denoise
) -> Inpainted:
    if request.outpaint is not None:
        return outpaint(pipe, rgb, request.outpaint, job, request.mask)
    return inpaint(pipe, rgb, mask.pixels, request.mask, job)


def _job(
    pipe: Any,
    request: Txt2ImgRequest,
    ctx: JobContext,
    family: str,
    first: int,
    count: int,
    guide: Any = None,
) -> Denoise:
    """The call for images first … first + count - 1 of the batch."""
    run = steps_run(request.sampling.steps, request.source.strength)
    seed = request.sampling.seed + first
    return Denoise(
        prompt=prompt_arguments(pipe, request) | ip_adapter_arguments(request),
        width=request.size.width,
        height=request.size.height,
        steps=request.sampling.steps,
        cfg_scale=request.sampling.cfg_scale,
        strength=request.source.strength,
        generators=default_generators(seed, count),
        seed=seed,
        callback=step_reporter(ctx, run, family, offset=first * run, total=repaint_total(request)),
        mix_noise=_variation(request, first),
        guide=guide,
    )


def _variation(request: Txt2ImgRequest, first: int) -> Callable[[torch.Tensor], Any] | None:
    """A1111's variation, as image to image does it: each image's noise moves
    `variation_strength` of the way (slerp) towards the variation seed's."""
    if not request.variation_strength:
        return None
    strength, seed = request.variation_strength, request.variation_seed + first

    def mix(noise: torch.Tensor) -> torch.Tensor:
        rows = [
            slerp(row[None], variation_noise(row, seed + i), strength)
            for i, row in enumerate(noise)
        ]
        return torch.cat(rows).to(noise.device, noise.dtype)

    return mix


def _unchanged(request: Txt2ImgRequest, source: FittedSource) -> np.ndarray:
    """No step runs: the source (an outpaint's extended and filled) for every image."""
    rgb = np.asarray(source.image)
    if (out := request.outpaint) is not None:
        sides = (out.left, out.top, out.right, out.bottom)
        rgb, _ = masking.extend_canvas(rgb, sides, out.fill, out.feather, request.sampling.seed)
    return np.repeat(rgb[None], request.batch_size, axis=0)


def _no_step_note(steps: int, strength: float) -> str:
    return (
        f"strength {strength:g} of {steps} steps runs no step (int({steps} × {strength:g}) "
        "= 0): nothing was repainted"
    )
