"""Stable Diffusion text-to-image through diffusers' own pipelines (SD 1.x/2.x and SDXL).

The runner adds only what the app needs around a plain diffusers call: the cached
pipeline, A1111 sampler names, per-image seeds, progress/cancel/previews through the job
context, and errors a user can act on. The pixels are exactly those of a bare diffusers
call with the same arguments (tests/test_sd.py holds us to that).
"""

from __future__ import annotations

from engine.models.common import hf_env  # noqa: F401  isort: skip  (before any hugging-face import)

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch
from diffusers.utils.torch_utils import randn_tensor

from engine.api.catalogue import model_path
from engine.api.errors import BadInput, BadModelFile, OutOfMemory
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ResultImage, Sheet
from engine.api.prompt_syntax import literal_text, without_lora_tags
from engine.api.requests import LatentWalkRequest, Txt2ImgRequest
from engine.cache import CacheKey, FileIdentity
from engine.context import JobContext
from engine.device import available_bytes, dtype_name, inference_dtype
from engine.models.common.latent_paths import path_between, slerp
from engine.models.sd.embeddings import applied_embeddings
from engine.models.sd.latent_preview import latents_to_rgb
from engine.models.sd.later_parts import refuse_later_parts
from engine.models.sd.loading import SdModel, load_sd_pipeline, locate_sd_model
from engine.models.sd.loras import applied_loras, lora_hash
from engine.models.sd.memory import activation_bytes, gigabytes
from engine.models.sd.prompt_encoding import needs_own_encoding, prompt_embeddings
from engine.models.sd.samplers import make_scheduler
from engine.models.sd.vae_override import VaeSlot
from engine.registry import RunnerEnv, runner


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [0, 1] -> uint8, rounding as diffusers' numpy_to_pil does."""
    return (images * 255).round().astype(np.uint8)


def default_generators(seed: int, count: int) -> list[torch.Generator]:
    # A1111 convention: image i of a batch uses seed + i; it equals a single run with that
    # seed to within one grey level (the batched UNet differs from batch-of-one by ~1e-6).
    # CPU generators give the same noise on every device.
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(count)]


# What a model predicts, as the request names it, and as diffusers' schedulers do.
PREDICTION_TYPES = {"epsilon": "epsilon", "v": "v_prediction"}


@dataclass(frozen=True)
class LoadedSd:
    pipe: Any  # a StableDiffusionPipeline or StableDiffusionXLPipeline
    scheduler_class: type
    scheduler_config: dict[str, Any]  # the model's own, to rebuild from on every job

    @property
    def components(self) -> dict[str, Any]:  # what the model cache counts the size of
        return self.pipe.components


@runner(task=Task.TXT2IMG, family=Family.SD)
class SdTxt2ImgRunner:
    def __init__(self, env: RunnerEnv) -> None:
        self.env = env
        self.dtype = inference_dtype(env.device, Family.SD)
        self.vae_slot = VaeSlot()

    def run(self, request: Txt2ImgRequest, ctx: JobContext) -> ImagesOutcome:
        refuse_later_parts(request)
        # A broken or mistyped folder is refused before anything is loaded or evicted.
        model = locate_sd_model(model_path(request.model))
        model_hash = self.env.hashes.request(model.path, model.hash_files)
        key = self._key(model)
        loaded = self._load(key, model, ctx, request.sampling.steps)
        self._check_memory(key, loaded, request)
        ctx.restart_clock()  # it/s and ETA describe denoising, not loading
        ctx.report(0, self._total_steps(request))  # loading is over: step 1 is under way
        ctx.phase = "generating"
        pipe = loaded.pipe
        # A fresh scheduler every job: the previous job's sampler (and its step state)
        # never leaks into this one.
        pipe.scheduler = self._scheduler(loaded, request.sampling.sampler, request.prediction)
        vae_hash = self.env.hashes.request(Path(request.vae)) if request.vae else None
        with (
            self.vae_slot.applied(pipe, request.vae, model.config_dir, self.dtype),
            applied_loras(pipe, request.loras, model.family),
            applied_embeddings(pipe, request.embeddings),
        ):
            images = self._denoise(pipe, model, request, ctx)
        _check_finite(images, model)
        info = self._info(model, loaded, request)
        info.update(
            self._hash_info(self.env.hashes.wait(model_hash, lambda: ctx.control.cancelled))
        )
        if vae_hash is not None:
            vae = self.env.hashes.wait(vae_hash, lambda: ctx.control.cancelled)
            info.update(vae=Path(request.vae).name, vae_hash=vae.sha256[:10])
        return ImagesOutcome(
            tuple(self._result(rgb, i, request, info) for i, rgb in enumerate(to_uint8(images))),
            self._sheet(request),
        )

    def _sheet(self, request: Txt2ImgRequest) -> Sheet:
        return Sheet.NONE  # a batch is kept one file per image

    def _total_steps(self, request: Txt2ImgRequest) -> int:
        return request.sampling.steps

    def _denoise(
        self, pipe: Any, model: SdModel, request: Txt2ImgRequest, ctx: JobContext
    ) -> np.ndarray:
        """The batch, as float images in [0, 1]: one plain diffusers call."""
        return pipe(
            **prompt_arguments(pipe, request),
            **_call_settings(request),
            num_images_per_prompt=request.batch_size,
            generator=default_generators(request.sampling.seed, request.batch_size),
            callback_on_step_end=_step_reporter(ctx, request.sampling.steps, model.preview_family),
            **self._variation_latents(pipe, request),
        ).images

    def _variation_latents(self, pipe: Any, request: Txt2ImgRequest) -> dict[str, Any]:
        """A1111's variation: each image's starting noise slerped towards the variation
        seed's; nothing (diffusers draws the noise itself) when there is no variation."""
        if not request.variation_strength:
            return {}
        latents = [
            slerp(
                self._noise(pipe, request, request.sampling.seed + i),
                self._noise(pipe, request, request.variation_seed + i),
                request.variation_strength,
            )
            for i in range(request.batch_size)
        ]
        return {"latents": torch.cat(latents).to(pipe.device, pipe.unet.dtype)}

    @staticmethod
    def _noise(pipe: Any, request: Txt2ImgRequest, seed: int) -> torch.Tensor:
        """The starting noise diffusers draws for this seed (its own prepare_latents call)."""
        scale = pipe.vae_scale_factor
        shape = (
            1,
            pipe.unet.config.in_channels,
            request.size.height // scale,
            request.size.width // scale,
        )
        generator = torch.Generator("cpu").manual_seed(seed)
        return randn_tensor(
            shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32
        )

    def _result(
        self, rgb: np.ndarray, index: int, request: Txt2ImgRequest, info: dict[str, Any]
    ) -> ResultImage:
        return ResultImage(rgb, request.sampling.seed + index, index, dict(info))

    def unload(self) -> None:
        pass  # the pipelines live in the model cache

    def _key(self, model: SdModel) -> CacheKey:
        identity = FileIdentity.of(model.path)
        return CacheKey(Family.SD, identity, self.env.device.device, dtype_name(self.dtype))

    def _load(self, key: CacheKey, model: SdModel, ctx: JobContext, steps: int) -> LoadedSd:
        device = self.env.device.device
        if self.env.cache.peek(key) is None:
            ctx.report(0, steps, message="Loading model…")
        ctx.phase = "loading the model"

        def load() -> LoadedSd:
            pipe = load_sd_pipeline(model, device, self.dtype)
            return LoadedSd(pipe, type(pipe.scheduler), dict(pipe.scheduler.config))

        return self.env.cache.get(key, load)

    def _check_memory(self, key: CacheKey, loaded: LoadedSd, request: Txt2ImgRequest) -> None:
        """Refuse, before the first step, a job that cannot fit; free other models first."""
        need = activation_bytes(
            loaded.pipe, request.size.width, request.size.height, request.batch_size, self.dtype
        )
        if need <= available_bytes(self.env.device):
            return
        self.env.cache.keep_only({key})
        free = available_bytes(self.env.device)
        if need > free:
            raise OutOfMemory(
                f"{request.size} with a batch of {request.batch_size} needs about "
                f"{gigabytes(need)} of memory beyond the model, and {gigabytes(free)} is free. "
                "Choose a smaller width/height or batch size, or close other programs."
            )

    @staticmethod
    def _scheduler(loaded: LoadedSd, sampler: str | None, prediction: str = "") -> Any:
        config = dict(loaded.scheduler_config)
        if prediction:  # the user's setting for a model whose file does not say
            config["prediction_type"] = PREDICTION_TYPES[prediction]
        if sampler is None:
            return loaded.scheduler_class.from_config(config)
        return make_scheduler(sampler, config)

    def _info(self, model: SdModel, loaded: LoadedSd, request: Txt2ImgRequest) -> dict[str, Any]:
        return {
            "model": model.path.name,
            "model_path": str(model.path.resolve()),
            "model_format": model.format,
            "prediction": pipe_prediction(loaded, request),
            "architecture": model.family.value,
            "sampler": request.sampling.sampler or loaded.scheduler_class.__name__,
            "device": self.env.device.device,
            "dtype": dtype_name(self.dtype),
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "family": Family.SD.value,
            **_lora_info(request),
        }

    @staticmethod
    def _hash_info(model_hash: Any) -> dict[str, Any]:
        return {"model_sha256": model_hash.sha256, "model_hash_kind": model_hash.kind}


def pipe_prediction(loaded: LoadedSd, request: Txt2ImgRequest) -> str:
    if request.prediction:
        return PREDICTION_TYPES[request.prediction]
    return str(loaded.scheduler_config.get("prediction_type", "epsilon"))


def _lora_info(request: Txt2ImgRequest) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if request.embeddings:
        info["embeddings"] = [Path(p).stem for p in request.embeddings]
        info["embedding_hashes"] = {Path(p).stem: lora_hash(Path(p)) for p in request.embeddings}
    if not request.loras:
        return info
    return {
        **info,
        "loras": [{"path": lora.path, "weight": lora.weight} for lora in request.loras],
        "lora_hashes": {lora.name: lora_hash(Path(lora.path)) for lora in request.loras},
    }


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


def _call_settings(request: Txt2ImgRequest) -> dict[str, Any]:
    """The pipeline arguments every denoising of a request shares."""
    return {
        "width": request.size.width,
        "height": request.size.height,
        "num_inference_steps": request.sampling.steps,
        "guidance_scale": request.sampling.cfg_scale,
        "output_type": "np",
    }


def _check_finite(images: np.ndarray, model: SdModel) -> None:
    """All-NaN pixels are a broken model, not a black picture to save."""
    if not np.isfinite(images).all():
        raise BadModelFile(
            f"The model {model.path} produced no picture (its numbers overflowed to NaN). "
            "Its weights or its VAE are broken, or a half-precision VAE overflowed: try the "
            "CPU, or download the model again."
        )


def _step_reporter(
    ctx: JobContext, steps: int, family: str, offset: int = 0, total: int | None = None
) -> Callable[..., dict[str, Any]]:
    """Progress in the steps the user asked for; the ETA in model evaluations.

    PNDM evaluates the UNet steps + 1 times, Heun and DPM2 about twice per step: the
    callback runs once per evaluation, and "Step 3/21" for 20 steps would look broken.
    A job of several denoisings (a latent walk's frames) reports from `offset` of `total`.
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
            preview=lambda: latents_to_rgb(latents, family),
            done=(offset + (index + 1) / evaluations * steps) / total,
        )
        return tensors

    return on_step_end


@runner(task=Task.LATENT_WALK, family=Family.SD)
class SdLatentWalkRunner(SdTxt2ImgRunner):
    """Frames of one job whose starting noise (and prompt) move between two ends. Each
    frame is the pipeline called with that frame's noise, and the first seed's generator
    for whatever noise the sampler adds: frame 0 is the first seed's txt2img image."""

    def _total_steps(self, request: LatentWalkRequest) -> int:
        return request.sampling.steps * request.frames

    def _denoise(
        self, pipe: Any, model: SdModel, request: LatentWalkRequest, ctx: JobContext
    ) -> np.ndarray:
        ends = [
            self._noise(pipe, request, seed) for seed in (request.sampling.seed, request.to_seed)
        ]
        noises = path_between(*ends, request.frames, request.mode)
        prompts = _prompt_path(pipe, request)
        steps = request.sampling.steps
        frames = []
        for i, noise in enumerate(noises):
            output = pipe(
                **prompts(i / (request.frames - 1)),
                latents=noise.reshape(ends[0].shape).to(pipe.device, pipe.unet.dtype),
                **_call_settings(request),
                generator=default_generators(request.sampling.seed, 1),
                callback_on_step_end=_step_reporter(
                    ctx, steps, model.preview_family, offset=i * steps, total=steps * request.frames
                ),
            )
            frames.append(output.images[0])
        return np.stack(frames)

    def _sheet(self, request: LatentWalkRequest) -> Sheet:
        return Sheet.STRIP if request.grid else Sheet.NONE

    def _result(
        self, rgb: np.ndarray, index: int, request: LatentWalkRequest, info: dict[str, Any]
    ) -> ResultImage:
        t = index / (request.frames - 1)
        return ResultImage(rgb, request.sampling.seed, index, {**info, "t": t})


def _prompt_path(pipe: Any, request: LatentWalkRequest) -> Callable[[float], dict[str, Any]]:
    """The prompt arguments at t: the request's own when there is no second prompt (so
    frame 0 is txt2img's exactly); else the two prompts' embeddings, mixed linearly."""
    if not request.to_prompt:
        fixed = prompt_arguments(pipe, request)
        return lambda _t: fixed
    negative = without_lora_tags(request.prompt.negative)
    ends = [
        prompt_embeddings(pipe, without_lora_tags(text), negative, request.clip_skip)
        for text in (request.prompt.positive, request.to_prompt)
    ]
    if ends[0]["prompt_embeds"].shape != ends[1]["prompt_embeds"].shape:
        raise BadInput(
            "The two prompts are of different lengths in 75-token chunks; make them both "
            "fit one chunk (or the same number of chunks) to walk between them."
        )
    return lambda t: {name: (1 - t) * ends[0][name] + t * ends[1][name] for name in ends[0]}
