"""What every diffusers call of a Stable Diffusion job shares: the prompt as the pipeline
takes it, the settings, per-image generators, and the step callback that reports
progress, previews and cancel. Text to image, image to image and hires fix all call
diffusers through these, so they cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from engine.api.prompt_syntax import literal_text, without_lora_tags
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.sd.control.ip_adapter import ip_adapter_arguments
from engine.models.sd.prompt_encoding import needs_own_encoding, prompt_embeddings
from engine.models.sd.samplers import call_eta
from engine.models.sd.tiny_vae import tiny_preview


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [0, 1] -> uint8, rounding as diffusers' numpy_to_pil does."""
    return (images * 255).round().astype(np.uint8)


def default_generators(seed: int, count: int) -> list[torch.Generator]:
    # A1111 convention: image i of a batch uses seed + i; it equals a single run with that
    # seed to within one grey level (the batched UNet differs from batch-of-one by ~1e-6).
    # CPU generators give the same noise on every device.
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(count)]


def prompt_arguments(pipe: Any, request: Txt2ImgRequest) -> dict[str, Any]:
    """The prompt as the pipeline takes it. Plain text goes in as text (diffusers encodes
    it exactly as a bare call would); weights, BREAK, more than 75 tokens or clip skip
    are encoded here, as A1111 does. (diffusers' own clip skip fails on transformers 5's
    CLIPTextModel, and SDXL's skips the positive prompt's layers only.) <lora:...> tags
    are never text."""
    positive = without_lora_tags(request.prompt.positive)
    negative = without_lora_tags(request.prompt.negative)
    if request.clip_skip > 1 or needs_own_encoding(pipe.tokenizer, positive, negative):
        return prompt_embeddings(pipe, positive, negative, request.clip_skip)
    # The tokenizer must not see A1111's escapes: `\(` is a literal `(`.
    return {"prompt": literal_text(positive), "negative_prompt": literal_text(negative) or None}


def sampling_settings(request: Txt2ImgRequest) -> dict[str, Any]:
    """The arguments every pipeline (text or image to image) takes alike."""
    return {
        "num_inference_steps": request.sampling.steps,
        "guidance_scale": request.sampling.cfg_scale,
        **call_eta(request.sampling.sampler),
        "output_type": "np",
        **ip_adapter_arguments(request),
    }


def call_settings(request: Txt2ImgRequest) -> dict[str, Any]:
    """A text-to-image call's arguments: the sampling ones and the size (image to image
    takes its size from the image)."""
    return {
        "width": request.size.width,
        "height": request.size.height,
        **sampling_settings(request),
    }


def step_reporter(
    ctx: JobContext, steps: int, family: str, offset: int = 0, total: int | None = None
) -> Callable[..., dict[str, Any]]:
    """Progress in the steps the user asked for; the ETA in model evaluations.

    PNDM evaluates the UNet steps + 1 times, Heun and DPM2 about twice per step: the
    callback runs once per evaluation, and "Step 3/21" for 20 steps would look broken.
    A job of several denoisings (a latent walk's frames, hires fix's two passes)
    reports from `offset` of `total`.
    """
    total = total or steps

    def on_step_end(
        pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        latents = tensors["latents"]
        evaluations = pipe.num_timesteps
        shown = min(steps, int((index + 1) * steps / evaluations + 0.5))
        # ctx.report raises JobCancelled, which unwinds out of the pipeline call.
        ctx.report(
            offset + max(1, shown),
            total,
            preview=lambda: tiny_preview(latents, family),
            done=(offset + (index + 1) / evaluations * steps) / total,
        )
        return tensors

    return on_step_end


def progress_arguments(pipe: Any, reporter: Callable[..., Any]) -> dict[str, Any]:
    """The step reporter as `pipe` takes it: callback_on_step_end, or the older
    callback(step, timestep, latents) of pipelines without it (the T2I-Adapter's)."""
    if "callback_on_step_end" in inspect.signature(pipe.__call__).parameters:
        return {"callback_on_step_end": reporter}

    def legacy(index: int, timestep: Any, latents: Any) -> None:
        shim = SimpleNamespace(num_timesteps=len(pipe.scheduler.timesteps))
        reporter(shim, index, timestep, {"latents": latents})

    return {"callback": legacy, "callback_steps": 1}


class Drawn:
    """A denoising's batch as float images in [0, 1], and what the recipe should say of
    it beyond the request (steps that ran, the source, notes)."""

    def __init__(self, images: np.ndarray, info: dict[str, Any] | None = None) -> None:
        self.images = images
        self.info = info or {}
