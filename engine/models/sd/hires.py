"""Hires fix (A1111's): text to image at the request's size, enlarged `scale` times
(each side rounded to a multiple of 8), then image to image at `denoise` in `steps`
steps (0: the first pass's). One job, one result per batch image; progress counts the
first pass's steps and the second's int(steps × denoise).

The second pass's generators are fresh from seed + i (image i), as a script doing the
two steps by hand with diffusers would make them (tests/test_sd_img2img.py does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.api.limits import nearest_multiple
from engine.api.parts import Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.sd.hires_upscale import PixelUpscaler, upscale_latents
from engine.models.sd.img2img import denoise_image, steps_run
from engine.models.sd.pipeline_call import Drawn, to_uint8
from engine.models.sd.txt2img import txt2img


def hires_size(request: Txt2ImgRequest) -> Size:
    scale = request.hires.scale
    return Size(
        nearest_multiple(round(request.size.width * scale)),
        nearest_multiple(round(request.size.height * scale)),
    )


def hires_steps(request: Txt2ImgRequest) -> int:
    return request.hires.steps or request.sampling.steps


def hires_total(request: Txt2ImgRequest) -> int:
    """Both passes' steps, as progress counts them."""
    return request.sampling.steps + steps_run(hires_steps(request), request.hires.denoise)


def draw_hires(
    pipe: Any,
    request: Txt2ImgRequest,
    ctx: JobContext,
    family: str,
    upscaler: PixelUpscaler,
    guide: Any = None,
) -> Drawn:
    """`guide`'s control units guide both passes, the second by maps made at its size."""
    hires, size, total = request.hires, hires_size(request), hires_total(request)
    if hires.in_latent_space:
        first = txt2img(pipe, request, ctx, family, total, output_type="latent", guide=guide)
        enlarged: Any = upscale_latents(first, size, pipe.vae_scale_factor)
    else:
        first = txt2img(pipe, request, ctx, family, total, guide=guide)
        enlarged = [upscaler(Image.fromarray(rgb), size) for rgb in to_uint8(first)]
    ctx.check_cancelled()
    steps, base = hires_steps(request), request.sampling.steps
    if steps_run(steps, hires.denoise) == 0:
        images = _unchanged(pipe, enlarged)
    else:
        images = denoise_image(
            pipe,
            request,
            ctx,
            family,
            enlarged,
            hires.denoise,
            steps,
            offset=base,
            total=total,
            guide=guide,
            size=size,
        )
    info = {
        "hires_scale": hires.scale,
        "hires_upscaler": hires.upscaler.id,
        "hires_steps": steps,
        "hires_denoise": hires.denoise,
        "hires_steps_run": steps_run(steps, hires.denoise),
        "hires_size": [size.width, size.height],
        "first_pass_size": [request.size.width, request.size.height],
    }
    return Drawn(images, info)


def _unchanged(pipe: Any, enlarged: Any) -> np.ndarray:
    """A second pass of no step (denoise 0): the enlarged first pass as it is (decoded,
    when it is latents)."""
    if isinstance(enlarged, list):
        return np.stack([np.asarray(image, np.float32) / 255.0 for image in enlarged])
    vae = pipe.vae
    with torch.inference_mode():
        latents = enlarged.to(vae.device, vae.dtype) / vae.config.scaling_factor
        decoded = vae.decode(latents).sample
    return pipe.image_processor.postprocess(decoded, output_type="np")
