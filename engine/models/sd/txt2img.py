"""Text to image: one plain diffusers call, and A1111's variation seeds."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
from diffusers.utils.torch_utils import randn_tensor

from engine.api.parts import Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.common.latent_paths import slerp
from engine.models.sd.pipeline_call import (
    call_settings,
    default_generators,
    progress_arguments,
    prompt_arguments,
    step_reporter,
)


def txt2img(
    pipe: Any,
    request: Txt2ImgRequest,
    ctx: JobContext,
    family: str,
    total: int | None = None,
    output_type: str = "np",
    guide: Any = None,
) -> Any:
    """The batch (float images in [0, 1], or latents for output_type "latent"); `guide`
    (engine.models.sd.control.guided.Guide) adds control units."""
    drawer, control = pipe, {}
    if guide is not None:
        drawer = guide.pipeline(pipe, "txt2img")
        control = guide.arguments("txt2img", request.size)
    with guide.soft() if guide is not None else nullcontext():
        return drawer(
            **prompt_arguments(pipe, request),
            **call_settings(request) | {"output_type": output_type},
            num_images_per_prompt=request.batch_size,
            generator=default_generators(request.sampling.seed, request.batch_size),
            **progress_arguments(
                drawer, step_reporter(ctx, request.sampling.steps, family, total=total)
            ),
            **variation_latents(pipe, request),
            **control,
        ).images


def variation_latents(pipe: Any, request: Txt2ImgRequest) -> dict[str, Any]:
    """A1111's variation: each image's starting noise slerped towards the variation
    seed's; nothing (diffusers draws the noise itself) when there is no variation."""
    if not request.variation_strength:
        return {}
    latents = [
        slerp(
            starting_noise(pipe, request.size, request.sampling.seed + i),
            starting_noise(pipe, request.size, request.variation_seed + i),
            request.variation_strength,
        )
        for i in range(request.batch_size)
    ]
    return {"latents": torch.cat(latents).to(pipe.device, pipe.unet.dtype)}


def starting_noise(pipe: Any, size: Size, seed: int) -> torch.Tensor:
    """The starting noise diffusers draws for this seed (its own prepare_latents call)."""
    scale = pipe.vae_scale_factor
    shape = (1, pipe.unet.config.in_channels, size.height // scale, size.width // scale)
    generator = torch.Generator("cpu").manual_seed(seed)
    return randn_tensor(shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
