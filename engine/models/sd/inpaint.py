"""Inpainting and outpainting through diffusers' own inpaint pipelines, as A1111 does it.

The cached text-to-image pipeline's components are reused (`inpaint_pipeline`, no second
load); a 9-channel inpainting checkpoint is loaded as its inpaint pipeline already. Around
the one diffusers call this module adds A1111's options (engine/api/image_parts.Mask):
the mask inverted, grown and blurred (masking.py), the masked content, "only masked"
(the padded crop drawn at the request's size and pasted back), colour match and the
composite that keeps every pixel outside the blurred mask exactly the source's. With
whole picture, content "original", no blur and no composite the pixels are those of a
bare StableDiffusionInpaintPipeline call (tests/test_sd_inpaint.py).
"""

from __future__ import annotations

from engine.models.common import hf_env  # noqa: F401  isort: skip  (before any hugging-face import)

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import diffusers
import numpy as np
import torch
from PIL import Image

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.image_parts import Mask, Outpaint
from engine.api.parts import ImageRef, Size
from engine.models.sd import masking
from engine.models.sd.sibling_pipeline import sibling_pipeline

INPAINT_CLASSES = {
    "StableDiffusionPipeline": "StableDiffusionInpaintPipeline",
    "StableDiffusionXLPipeline": "StableDiffusionXLInpaintPipeline",
}
LATENT_CONTENTS = ("latent-noise", "latent-nothing")
# An outpaint's own mask is already soft (the feather): no blur on top of it.
OUTPAINT_OPTIONS = Mask(ImageRef("", ""), blur=0)


@dataclass(frozen=True)
class Denoise:
    """What the diffusers call takes besides the image and mask: the prompt arguments,
    size, steps, CFG, strength, generators and the step callback."""

    prompt: dict[str, Any]
    width: int
    height: int
    steps: int
    cfg_scale: float
    strength: float
    generators: list[torch.Generator]
    seed: int
    callback: Callable[..., dict[str, Any]] | None = None
    # A1111's variation seed: the noise diffusers drew, in, the noise to start from, out.
    mix_noise: Callable[[torch.Tensor], torch.Tensor] | None = None
    # Control units (engine.models.sd.control.guided.Guide), their maps at the output size.
    guide: Any = None


@dataclass
class Inpainted:
    images: np.ndarray  # N x H x W x 3 uint8 at the source's size
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def inpaint_pipeline(pipe: Any) -> Any:
    """The inpaint pipeline sharing `pipe`'s components (already one: itself)."""
    name = type(pipe).__name__
    if "Inpaint" in name:
        return pipe
    if name not in INPAINT_CLASSES:
        raise BadInput(f"A {name} cannot inpaint.")
    return sibling_pipeline(getattr(diffusers, INPAINT_CLASSES[name]), pipe)


def is_inpainting_model(pipe: Any) -> bool:
    """A checkpoint trained for inpainting: its UNet also reads the mask and the masked
    image's latents (4 + 1 + 4 input channels)."""
    return int(pipe.unet.config.in_channels) == 9


def inpaint(pipe: Any, source: np.ndarray, mask: np.ndarray, options: Mask, job: Denoise):
    """Repaint `source` (H x W x 3 uint8) where `mask` (H x W, uint8 or float) says."""
    notes: list[str] = []
    mask = _mask_at_source_size(masking.as_mask(mask), source.shape[:2], notes)
    prepared = masking.prepare_mask(
        mask, invert=options.mode == "unmasked", grow=options.grow, blur=options.blur
    )
    if prepared.empty:
        raise BadInput(
            "The mask is all black: there is nothing to repaint. Paint over the part to "
            "change (white), or choose 'Inpaint not masked' to repaint the rest."
        )
    if options.area == "masked":
        images, region = _only_masked(pipe, source, prepared, options, job)
    else:
        images, region = _whole(pipe, source, prepared, options, job), None
    images = np.stack([_finish(image, source, prepared, options) for image in images])
    info = mask_info(options, region)
    return Inpainted(images, info, notes)


def outpaint(
    pipe: Any, source: np.ndarray, options: Outpaint, job: Denoise, mask: Mask | None = None
) -> Inpainted:
    """Extend the canvas, fill the new area, inpaint it over a feathered overlap. `mask`
    gives the inpaint options (content, colour match…); its own image is not used: the
    outpaint's mask is the new area."""
    settings = replace(mask or OUTPAINT_OPTIONS, mode="masked", grow=0, area="whole")
    sides = (options.left, options.top, options.right, options.bottom)
    width = source.shape[1] + options.left + options.right
    height = source.shape[0] + options.top + options.bottom
    for side in (width, height):
        if side > limits.SD_SIDE.high:
            raise BadInput(
                f"Outpainting makes the image {width} x {height} px; the most is "
                f"{limits.SD_SIDE.high} px a side. Extend by less."
            )
    canvas, new_area = masking.extend_canvas(source, sides, options.fill, options.feather, job.seed)
    pixels = np.round(new_area * 255).astype(np.uint8)
    result = inpaint(pipe, canvas, pixels, settings, job)
    result.info.update(outpaint=list(sides), outpaint_fill=options.fill, feather=options.feather)
    return result


def mask_info(options: Mask, region: tuple[int, int, int, int] | None) -> dict[str, Any]:
    """What the recipe records of the mask's options (A1111's names in a1111_params)."""
    info: dict[str, Any] = {
        "mask_blur": options.blur,
        "mask_mode": options.mode,
        "masked_content": options.content,
        "inpaint_area": options.area,
        "mask_grow": options.grow,
        "colour_match": options.colour_match,
        "composite": options.composite,
    }
    if options.area == "masked":
        info["masked_padding"] = options.padding
        info["crop_region"] = list(region) if region else None
    return info


def _mask_at_source_size(mask: np.ndarray, shape: tuple[int, ...], notes: list[str]):
    height, width = shape[:2]
    if mask.shape == (height, width):
        return mask
    notes.append(
        f"The mask is {mask.shape[1]} x {mask.shape[0]} px and the image {width} x {height}: "
        "the mask was resized to fit."
    )
    grey = Image.fromarray(np.round(mask * 255).astype(np.uint8), "L")
    return masking.as_mask(np.asarray(grey.resize((width, height), Image.BILINEAR)))


def _whole(pipe: Any, source: np.ndarray, prepared, options: Mask, job: Denoise) -> np.ndarray:
    """The whole picture at the request's size (the source resized to it first)."""
    height, width = source.shape[:2]
    size = (job.width, job.height)
    image = _resized(source, size)
    soft = _resized_mask(prepared.soft, size)
    sharp = _resized_mask(prepared.sharp, size)
    images = _denoise(pipe, image, soft, sharp, options, job, _control(job, Size(*size)))
    return np.stack([_resized(image, (width, height)) for image in images])


def _only_masked(pipe: Any, source: np.ndarray, prepared, options: Mask, job: Denoise):
    """A1111's "only masked": the blurred mask's box plus padding, widened to the
    output's aspect, drawn at the request's size, scaled back and pasted in place."""
    height, width = source.shape[:2]
    box = masking.crop_region(prepared.soft > 0, options.padding)
    assert box is not None  # the mask is not empty
    x0, y0, x1, y1 = masking.expand_to_aspect(box, (job.width, job.height), (width, height))
    size = (job.width, job.height)
    crop = _resized(source[y0:y1, x0:x1], size)
    soft = _resized_mask(prepared.soft[y0:y1, x0:x1], size)
    sharp = _resized_mask(prepared.sharp[y0:y1, x0:x1], size)
    pasted = []

    def cut(control_map: Image.Image) -> Image.Image:  # maps are at the source's size
        return control_map.crop((x0, y0, x1, y1)).resize(size, Image.LANCZOS)

    control = _control(job, Size(width, height), cut)
    for image in _denoise(pipe, crop, soft, sharp, options, job, control):
        whole = source.copy()
        whole[y0:y1, x0:x1] = _resized(image, (x1 - x0, y1 - y0))
        pasted.append(whole)
    return np.stack(pasted), (x0, y0, x1, y1)


def _control(job: Denoise, size: Size, crop: Callable | None = None) -> dict[str, Any]:
    """The control units' call arguments (none without them)."""
    return {} if job.guide is None else job.guide.arguments("inpaint", size, crop)


def _denoise(pipe, image, soft, sharp, options: Mask, job: Denoise, control=None) -> np.ndarray:
    """One diffusers inpaint call; N x H x W x 3 uint8 at the request's size."""
    control = control or {}
    inpainter = inpaint_pipeline(pipe) if job.guide is None else job.guide.pipeline(pipe, "inpaint")
    # Latent modes start from the filled picture too: the latents just outside the mask
    # then carry nothing of what is under it (the VAE encoder sees across the edge).
    start = image if options.content == "original" else masking.fill_masked(image, sharp)
    mask_image = Image.fromarray(np.round(soft * 255).astype(np.uint8), "L")
    # One copy per image: diffusers encodes image i with generator i, so image i draws
    # what its own seed draws alone (given once, every image's VAE sample would come
    # from the first generator, and the others' noise from a generator not yet used).
    extra: dict[str, Any] = {"image": [Image.fromarray(start)] * len(job.generators)}
    if options.content in LATENT_CONTENTS:
        if job.guide is not None:
            raise BadInput(
                "Masked content 'latent noise' and 'latent nothing' cannot be used with "
                "control units (diffusers' ControlNet inpaint pipelines start from a "
                "picture); choose 'fill' or 'original'."
            )
        extra = _latent_content(inpainter, start, soft, options.content, job)
    soft_modes = job.guide.soft() if job.guide is not None else nullcontext()
    with _noise_mixed(inpainter, job.mix_noise), soft_modes:
        output = _call(inpainter, extra | control, mask_image, job)
    return (output.images * 255).round().astype(np.uint8)


def _call(inpainter: Any, start: dict[str, Any], mask_image: Image.Image, job: Denoise) -> Any:
    """The one diffusers call; `start` is the image (or its latents) to start from."""
    return inpainter(
        **job.prompt,
        **start,
        mask_image=mask_image,
        width=job.width,
        height=job.height,
        strength=job.strength,
        num_inference_steps=job.steps,
        guidance_scale=job.cfg_scale,
        num_images_per_prompt=len(job.generators),
        generator=job.generators,
        callback_on_step_end=job.callback,
        output_type="np",
    )


@contextmanager
def _noise_mixed(inpainter: Any, mix: Callable[[torch.Tensor], torch.Tensor] | None) -> Iterator:
    """For one call, the noise diffusers drew (its prepare_latents, which also feeds the
    per-step blend of a 4-channel model) replaced by `mix(noise)`; the starting latents
    follow: pure noise at strength 1, else the image's latents noised by add_noise,
    which is linear in the noise."""
    if mix is None:
        yield
        return
    prepare = inpainter.prepare_latents

    def mixed(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        latents, noise, *rest = prepare(*args, **kwargs)
        new = mix(noise)
        scheduler = inpainter.scheduler
        if kwargs["is_strength_max"]:
            latents = new * scheduler.init_noise_sigma
        else:
            change = scheduler.add_noise(torch.zeros_like(new), new - noise, kwargs["timestep"])
            latents = latents + change
        return (latents, new, *rest)

    inpainter.prepare_latents = mixed  # this instance only, and only for this call
    try:
        yield
    finally:
        del inpainter.prepare_latents


def _latent_content(inpainter, image: np.ndarray, soft: np.ndarray, content: str, job: Denoise):
    """A1111's latent noise / latent nothing: the masked area's starting latents are
    replaced by unit noise or zeros before the sampler noises them to the strength.
    `image` is already filled under the mask. diffusers takes 4-channel latents as
    `image`; the masked image's latents (what a 9-channel UNet also reads) are then
    given too, as diffusers would compute them."""
    pixels = inpainter.image_processor.preprocess(Image.fromarray(image), job.height, job.width)
    pixels = pixels.to(inpainter.device, torch.float32)
    with torch.no_grad():
        latents = _encode(inpainter, pixels, job.seed)
        mask = torch.from_numpy(soft >= 0.5).float()[None, None]
        masked_pixels = pixels * (1 - torch.nn.functional.interpolate(mask, pixels.shape[-2:]))
        masked_latents = _encode(inpainter, masked_pixels.to(pixels), job.seed)
    small = torch.nn.functional.interpolate(mask, latents.shape[-2:]).to(latents)
    if content == "latent-noise":
        generator = torch.Generator("cpu").manual_seed(job.seed)
        fill = torch.randn(latents.shape, generator=generator).to(latents)
    else:
        fill = torch.zeros_like(latents)
    start = latents * (1 - small) + fill * small
    return {"image": start, "masked_image_latents": masked_latents}


def _encode(inpainter, pixels: torch.Tensor, seed: int) -> torch.Tensor:
    vae = inpainter.vae
    generator = torch.Generator("cpu").manual_seed(seed)
    upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
    dtype = torch.float32 if upcast else vae.dtype
    if upcast:
        vae.to(torch.float32)
    try:
        encoded = vae.encode(pixels.to(dtype)).latent_dist.sample(generator)
    finally:
        if upcast:
            vae.to(torch.float16)
    return (encoded * vae.config.scaling_factor).to(inpainter.unet.dtype)


def _finish(result: np.ndarray, source: np.ndarray, prepared, options: Mask) -> np.ndarray:
    """A1111's order: colour correction, then the overlay through the blurred mask."""
    if options.colour_match:
        result = masking.match_colours(result, source, prepared.soft)
    if options.composite:
        result = masking.composite(result, source, prepared.soft)
    return result


def _resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))


def _resized_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (mask.shape[1], mask.shape[0]) == size:
        return mask
    grey = Image.fromarray(mask.astype(np.float32), "F").resize(size, Image.BILINEAR)
    return np.clip(np.asarray(grey), 0.0, 1.0)
