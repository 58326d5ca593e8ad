"""Which denoising a Stable Diffusion request is, by its parts: the one dispatch point.

No part: text to image. A source: image to image. A mask or an outpaint on the source:
inpainting or outpainting (engine.models.sd.repaint). A hires pass: text to image, then
image to image larger. Control units (engine.models.sd.control) guide whichever of
these it is: their models are loaded and checked and their maps made before the first
step, and the recipe records each unit and its map.
"""

from __future__ import annotations

from typing import Any

from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.library.detect import SdFamily
from engine.models.sd.control.units import make_guide
from engine.models.sd.hires import draw_hires, hires_size, hires_total
from engine.models.sd.hires_upscale import pixel_upscaler
from engine.models.sd.img2img import draw_img2img, steps_run
from engine.models.sd.pipeline_call import Drawn
from engine.models.sd.repaint import draw_repaint, repaint_total, repaints
from engine.models.sd.txt2img import txt2img
from engine.registry import RunnerEnv


def draw(
    pipe: Any,
    request: Txt2ImgRequest,
    ctx: JobContext,
    family: str,
    env: RunnerEnv,
    base_family: SdFamily = SdFamily.SD1,
) -> Drawn:
    """The batch as float images in [0, 1], and what the recipe says of how. `family`
    is the preview's ("sd" or "sdxl"), `base_family` the checkpoint's (control models
    must fit it)."""
    guide = make_guide(pipe, request, env, _task(request), base_family)
    if guide is not None:
        guide.maps(request.size)  # a missing or changed control image: before any step
        ctx.check_cancelled()
    drawn = _draw(pipe, request, ctx, family, env, guide)
    if guide is not None:
        notes = list(drawn.info.get("notes", ())) + guide.notes
        drawn.info = drawn.info | guide.info() | ({"notes": notes} if notes else {})
    return drawn


def _draw(
    pipe: Any, request: Txt2ImgRequest, ctx: JobContext, family: str, env: RunnerEnv, guide: Any
) -> Drawn:
    if repaints(request):
        return draw_repaint(pipe, request, ctx, family, guide)
    if request.source is not None:
        return draw_img2img(pipe, request, ctx, family, guide)
    if request.hires is not None:
        upscaler = pixel_upscaler(
            env, request.hires.upscaler, ctx, request.sampling.steps, hires_total(request)
        )
        return draw_hires(pipe, request, ctx, family, upscaler, guide)
    return Drawn(txt2img(pipe, request, ctx, family, guide=guide))


def _task(request: Txt2ImgRequest) -> str:
    """The diffusers pipeline kind the control units join (hires's second pass is
    image to image; its first, text to image, is checked)."""
    if repaints(request):
        return "inpaint"
    return "img2img" if request.source is not None else "txt2img"


def total_steps(request: Txt2ImgRequest) -> int:
    """The steps that will run, as progress counts them."""
    if repaints(request):
        return repaint_total(request)
    if request.source is not None:
        return steps_run(request.sampling.steps, request.source.strength)
    if request.hires is not None:
        return hires_total(request)
    return request.sampling.steps


def largest_size(request: Txt2ImgRequest) -> Any:
    """The largest picture the UNet and VAE draw: what the memory check measures. An
    outpaint draws the extended canvas, which is the request's size (repaint.py), and
    "only masked" draws its crop at that size too."""
    return hires_size(request) if request.hires is not None else request.size
