"""Stable Diffusion text-to-image through diffusers' own StableDiffusionPipeline.

The runner adds only what the app needs around a plain diffusers call: one cached
pipeline, A1111 sampler names, per-image seeds, progress/cancel/previews through the job
context, and errors a user can act on. The pixels are exactly those of a bare diffusers
call with the same arguments (tests/test_sd.py holds us to that).
"""

from __future__ import annotations

from engine.models import hf_env  # isort: skip  (must run before any hugging-face import)

import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
from diffusers import StableDiffusionPipeline

from engine.context import JobContext
from engine.device import DeviceChoice
from engine.errors import BadModelFile
from engine.jobs import GeneratedImage, Txt2ImgRequest
from engine.models.latent_preview import latents_to_rgb
from engine.models.oom import is_out_of_memory, out_of_memory, release_cached_memory
from engine.models.samplers import make_scheduler
from engine.models.sd_files import inspect_sd_folder, model_sha256

# A real CLIP vocabulary has 49,408 tokens; transformers 5 builds a 3-token one, without
# any error, when a tokenizer folder lacks its vocabulary files.
MIN_VOCAB_SIZE = 1000


def load_sd_pipeline(path: str, device: DeviceChoice) -> StableDiffusionPipeline:
    """Load a diffusers SD folder onto `device`, or raise BadModelFile/BadInput/OutOfMemory."""
    folder = inspect_sd_folder(path)
    hf_env.silence_progress_bars()
    pipe: StableDiffusionPipeline | None = None
    oom = False
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            str(folder.path),
            dtype=device.dtype,  # diffusers 0.42 deprecates torch_dtype
            local_files_only=True,
            safety_checker=None,
            requires_safety_checker=False,
        )
        pipe = pipe.to(device.device)
    except Exception as exc:
        if not is_out_of_memory(exc):
            if isinstance(exc, OSError | ValueError | RuntimeError | KeyError):
                raise BadModelFile(
                    f"The model in {folder.path} could not be loaded ({exc}). "
                    "Download or copy it again."
                ) from exc
            raise
        oom = True
    if oom:
        # Out here the exception and its frames (which pin the half-loaded weights) are
        # gone, so the memory can actually be returned.
        pipe = None
        release_cached_memory(device.device)
        raise out_of_memory(device.device, "loading the model")
    _check_tokenizer(pipe, folder.path)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _check_tokenizer(pipe: StableDiffusionPipeline, folder: Path) -> None:
    if len(pipe.tokenizer) < MIN_VOCAB_SIZE:
        raise BadModelFile(
            f"The tokenizer in {folder / 'tokenizer'} has only {len(pipe.tokenizer)} tokens: "
            "its vocab.json/merges.txt are missing or damaged. Download or copy it again."
        )


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [0, 1] -> uint8, rounding as diffusers' numpy_to_pil does."""
    return (images * 255).round().astype(np.uint8)


def default_generators(seed: int, count: int) -> list[torch.Generator]:
    # A1111 convention: image i of a batch uses seed + i and equals a single run with it.
    # CPU generators give the same noise on every device.
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(count)]


@dataclass
class _Loaded:
    key: tuple[str, str, str]
    path: Path
    pipe: StableDiffusionPipeline
    scheduler_class: type
    scheduler_config: dict[str, Any]  # the model's own, to rebuild from on every job
    sha256: str


class SdRunner:
    """Runs Txt2ImgRequests; keeps one pipeline loaded between jobs."""

    def __init__(self, device: DeviceChoice) -> None:
        self.device = device
        self._loaded: _Loaded | None = None

    @property
    def pipeline(self) -> StableDiffusionPipeline | None:
        return self._loaded.pipe if self._loaded else None

    def unload(self) -> None:
        self._loaded = None
        gc.collect()
        release_cached_memory(self.device.device)

    def run(self, request: Txt2ImgRequest, ctx: JobContext) -> list[GeneratedImage]:
        request.validate()
        loaded = self._ensure_loaded(request.model, ctx, request.steps)
        ctx.restart_clock()  # it/s and ETA describe denoising, not loading
        pipe = loaded.pipe
        # A fresh scheduler every job: the previous job's sampler (and its step state)
        # never leaks into this one.
        pipe.scheduler = self._scheduler(loaded, request.sampler)
        output = None
        try:
            output = pipe(
                prompt=request.prompt,
                negative_prompt=request.negative_prompt or None,
                width=request.width,
                height=request.height,
                num_inference_steps=request.steps,
                guidance_scale=request.cfg_scale,
                num_images_per_prompt=request.batch_size,
                generator=default_generators(request.seed, request.batch_size),
                output_type="np",
                callback_on_step_end=_step_reporter(ctx),
            )
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
        if output is None:
            # Outside the except block, so the activations the traceback held are freed.
            release_cached_memory(self.device.device)
            raise out_of_memory(self.device.device, "generating")
        info = self._info(loaded, request)
        return [
            GeneratedImage(rgb, request.seed + i, i, dict(info))
            for i, rgb in enumerate(to_uint8(output.images))
        ]

    def _ensure_loaded(self, model: str, ctx: JobContext, steps: int) -> _Loaded:
        path = Path(model).expanduser().resolve()
        key = (str(path), self.device.device, self.device.dtype_name)
        if self._loaded and self._loaded.key == key:
            return self._loaded
        ctx.report(0, steps, message="Loading model…")
        # A broken or mistyped folder should not cost the user the model already loaded.
        inspect_sd_folder(path)
        # Free the old model first: two SD models at once may not fit in GPU memory.
        self.unload()
        pipe = load_sd_pipeline(str(path), self.device)
        self._loaded = _Loaded(
            key=key,
            path=path,
            pipe=pipe,
            scheduler_class=type(pipe.scheduler),
            scheduler_config=dict(pipe.scheduler.config),
            sha256=model_sha256(path),
        )
        return self._loaded

    @staticmethod
    def _scheduler(loaded: _Loaded, sampler: str | None) -> Any:
        if sampler is None:
            return loaded.scheduler_class.from_config(loaded.scheduler_config)
        return make_scheduler(sampler, loaded.scheduler_config)

    def _info(self, loaded: _Loaded, request: Txt2ImgRequest) -> dict[str, Any]:
        return {
            "model": loaded.path.name,
            "model_path": str(loaded.path),
            "model_sha256": loaded.sha256,
            "sampler": request.sampler or loaded.scheduler_class.__name__,
            "device": self.device.device,
            "dtype": self.device.dtype_name,
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "family": "sd",
        }


def _step_reporter(ctx: JobContext) -> Callable[..., dict[str, Any]]:
    def on_step_end(
        pipe: StableDiffusionPipeline, step: int, timestep: Any, tensors: dict[str, Any]
    ) -> dict[str, Any]:
        latents = tensors["latents"]
        # num_timesteps, not the requested steps: second-order samplers (Heun, DPM2) and
        # PNDM evaluate the model more often than that, and the ETA should know it.
        # ctx.report raises JobCancelled, which unwinds out of the pipeline call.
        ctx.report(step + 1, pipe.num_timesteps, preview=lambda: latents_to_rgb(latents))
        return tensors

    return on_step_end
