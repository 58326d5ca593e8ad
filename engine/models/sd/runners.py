"""Stable Diffusion text-to-image through diffusers' own pipelines (SD 1.x/2.x and SDXL).

The runner adds only what the app needs around a plain diffusers call: the cached
pipeline, A1111 sampler names, per-image seeds, progress/cancel/previews through the job
context, and errors a user can act on. The pixels are exactly those of a bare diffusers
call with the same arguments (tests/test_sd.py holds us to that).
"""

from __future__ import annotations

from engine.models.common import hf_env  # noqa: F401  isort: skip  (before any hugging-face import)

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diffusers
import numpy as np
import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadInput, BadModelFile, OutOfMemory
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ResultImage, Sheet
from engine.api.parts import Sampling
from engine.api.prompt_syntax import without_lora_tags
from engine.api.requests import LatentWalkRequest, Txt2ImgRequest
from engine.batch.xyz_runner import XyzPlotRunner
from engine.cache import CacheKey, FileIdentity
from engine.context import JobContext
from engine.cpu_path import NumericPath
from engine.device import available_bytes, dtype_name
from engine.models.common.latent_paths import path_between
from engine.models.sd.compiled import CompiledUnet, compiled_for_job, job_record
from engine.models.sd.control import map_job  # noqa: F401  (registers its runner)
from engine.models.sd.control.ip_adapter import applied_ip_adapters, check_ip_adapters
from engine.models.sd.drawing import draw, largest_size, total_steps
from engine.models.sd.embeddings import applied_embeddings
from engine.models.sd.later_parts import refuse_later_parts
from engine.models.sd.loading import SdModel, load_sd_pipeline, locate_sd_model
from engine.models.sd.loras import applied_loras, lora_hash
from engine.models.sd.memory import activation_bytes, gigabytes, tiled_vae_bytes
from engine.models.sd.numerics import apply_layout, job_numerics, sd_numerics, vae_tiling
from engine.models.sd.offload import NONE, Offload, offload_for, place
from engine.models.sd.pipeline_call import (
    Drawn,
    call_settings,
    default_generators,
    prompt_arguments,
    step_reporter,
    to_uint8,
)
from engine.models.sd.prompt_encoding import prompt_embeddings
from engine.models.sd.repaint import repaints
from engine.models.sd.samplers import make_scheduler, spacing_override
from engine.models.sd.tiny_vae import TinyVaeSlot, decoding_with, previewing_with
from engine.models.sd.txt2img import starting_noise
from engine.models.sd.vae_override import VaeSlot
from engine.registry import RunnerEnv, runner

# What a model predicts, as the request names it, and as diffusers' schedulers do.
PREDICTION_TYPES = {"epsilon": "epsilon", "v": "v_prediction"}


@dataclass(frozen=True)
class LoadedSd:
    pipe: Any  # a StableDiffusionPipeline or StableDiffusionXLPipeline
    scheduler_class: type
    scheduler_config: dict[str, Any]  # the model's own, to rebuild from on every job
    offload: Offload | None = None  # on CUDA: placed whole, or offloaded to the CPU
    compiled: CompiledUnet = field(default_factory=CompiledUnet)  # its UNet, where compiled

    @property
    def components(self) -> dict[str, Any]:  # what the model cache counts the size of
        return self.pipe.components


@runner(task=Task.TXT2IMG, family=Family.SD)
class SdTxt2ImgRunner:
    def __init__(self, env: RunnerEnv) -> None:
        self.env = env
        self.numerics: NumericPath = sd_numerics(env)
        self.dtype = self.numerics.dtype
        self.vae_slot = VaeSlot()
        self.tiny_slot = TinyVaeSlot()

    def run(self, request: Txt2ImgRequest, ctx: JobContext) -> ImagesOutcome:
        refuse_later_parts(request)
        # This job's numbers: the runtime's, or those a reopened picture was made in.
        self.numerics, pinned = job_numerics(self.env, request.precision)
        self.dtype = self.numerics.dtype
        # A broken or mistyped folder is refused before anything is loaded or evicted.
        # An inpainting (9-channel) model draws only with a mask; without one, a sentence.
        model = locate_sd_model(model_path(request.model), with_mask=repaints(request))
        check_ip_adapters(request.ip_adapters, model.family)  # headers: before any load
        model_hash = self.env.hashes.request(model.path, model.hash_files)
        key = self._key(model)
        loaded = self._load(key, model, ctx, request)
        tiled = self._check_memory(key, loaded, request)
        ctx.restart_clock()  # it/s and ETA describe denoising, not loading
        ctx.report(0, self._total_steps(request))  # loading is over: step 1 is under way
        ctx.phase = "generating"
        pipe = loaded.pipe
        # A fresh scheduler every job: the previous job's sampler (and its step state)
        # never leaks into this one.
        pipe.scheduler = self._scheduler(loaded, request.sampling, request.prediction)
        vae_hash = self.env.hashes.request(Path(request.vae)) if request.vae else None
        control_hashes = self._control_hash_requests(request)
        tiny, tiny_info = self._tiny_vae(request)
        with (
            previewing_with(tiny),
            self.vae_slot.applied(pipe, request.vae, model.config_dir, self.dtype),
            decoding_with(pipe, tiny if request.fast_decode else None),
            applied_loras(pipe, request.loras, model.family),
            applied_embeddings(pipe, request.embeddings),
            applied_ip_adapters(pipe, request.ip_adapters, model.family, self.env.cache),
            vae_tiling(pipe, tiled),
            compiled_for_job(
                loaded.compiled, pipe, self.env, request, ctx, self._total_steps(request)
            ),
        ):
            drawn = self._denoise(pipe, model, request, ctx)
        _check_finite(drawn.images, model)
        info = self._info(model, loaded, request) | drawn.info
        info = _with_notes(info, tiny_info | _offload_info(loaded))
        info = _with_notes(info, job_record(loaded.compiled, self.env))
        info = _with_notes(info, {"notes": [pinned]} if pinned else {})
        if tiled:
            info["vae_tiling"] = True
        info.update(
            self._hash_info(self.env.hashes.wait(model_hash, lambda: ctx.control.cancelled))
        )
        if vae_hash is not None:
            vae = self.env.hashes.wait(vae_hash, lambda: ctx.control.cancelled)
            info.update(vae=Path(request.vae).name, vae_hash=vae.sha256[:10])
        if control_hashes:
            info["control_hashes"] = {
                model_id: self.env.hashes.wait(ticket, lambda: ctx.control.cancelled).sha256[:8]
                for model_id, ticket in control_hashes.items()
            }
        return ImagesOutcome(
            tuple(
                self._result(rgb, i, request, info) for i, rgb in enumerate(to_uint8(drawn.images))
            ),
            self._sheet(request),
        )

    def _control_hash_requests(self, request: Txt2ImgRequest) -> dict[str, Any]:
        """The control and IP-Adapter files' hashes, asked for now and read when the
        image is done: sd-webui-controlnet names a unit's model "name [sha256's first
        8 hex digits]" in the A1111 text. A diffusers folder has no one file to hash."""
        ids = {unit.model.id for unit in (*request.control, *request.ip_adapters)}
        return {
            model_id: self.env.hashes.request(Path(model_id))
            for model_id in sorted(ids)
            if Path(model_id).is_file()
        }

    def _tiny_vae(self, request: Txt2ImgRequest) -> tuple[Any, dict[str, Any]]:
        """The tiny decoder and what the recipe says of it. One only for previews that
        cannot be read leaves them approximated, with a note; a fast final decode needs it."""
        if not request.tiny_vae:
            return None, {}
        path = Path(request.tiny_vae)
        try:
            vae = self.tiny_slot.get(path).to(self.env.device.device, self.dtype)
        except BadInput as exc:
            if request.fast_decode:
                raise
            return None, {"notes": [f"Previews approximated: {exc.message}"]}
        if request.fast_decode:
            return vae, {"decoder": f"tiny autoencoder {path.name}"}
        return vae, {}

    def _sheet(self, request: Txt2ImgRequest) -> Sheet:
        return Sheet.NONE  # a batch is kept one file per image

    def _total_steps(self, request: Txt2ImgRequest) -> int:
        return total_steps(request)

    def _denoise(
        self, pipe: Any, model: SdModel, request: Txt2ImgRequest, ctx: JobContext
    ) -> Drawn:
        """The batch by the request's parts (engine.models.sd.drawing)."""
        return draw(pipe, request, ctx, model.preview_family, self.env, model.family)

    def _result(
        self, rgb: np.ndarray, index: int, request: Txt2ImgRequest, info: dict[str, Any]
    ) -> ResultImage:
        return ResultImage(rgb, request.sampling.seed + index, index, dict(info))

    def unload(self) -> None:
        pass  # the pipelines live in the model cache

    def _key(self, model: SdModel) -> CacheKey:
        identity = FileIdentity.of(model.path)
        numbers = dtype_name(self.dtype) + ("-channels-last" if self.numerics.channels_last else "")
        return CacheKey(Family.SD, identity, self.env.device.device, numbers)

    def _load(
        self, key: CacheKey, model: SdModel, ctx: JobContext, request: Txt2ImgRequest
    ) -> LoadedSd:
        device = self.env.device.device
        steps = self._total_steps(request)
        if self.env.cache.peek(key) is None:
            ctx.report(0, steps, message="Loading model…")
        ctx.phase = "loading the model"

        def load() -> LoadedSd:
            if device != "cuda":  # the CPU and Apple GPUs: loaded where they compute
                pipe = apply_layout(load_sd_pipeline(model, device, self.dtype), self.numerics)
                return LoadedSd(pipe, type(pipe.scheduler), dict(pipe.scheduler.config))
            # CUDA: loaded into CPU memory first, then placed whole or offloaded.
            pipe = apply_layout(load_sd_pipeline(model, "cpu", self.dtype), self.numerics)
            size = largest_size(request)
            args = (pipe, size.width, size.height, request.batch_size, self.dtype)
            offload = offload_for(self.env, pipe, activation_bytes(*args))
            if offload.mode != NONE:
                ctx.report(0, steps, message=f"Loading model ({offload.mode} offload)…")
            pipe = place(pipe, device, offload)
            return LoadedSd(pipe, type(pipe.scheduler), dict(pipe.scheduler.config), offload)

        return self.env.cache.get(key, load)

    def _check_memory(self, key: CacheKey, loaded: LoadedSd, request: Txt2ImgRequest) -> bool:
        """Refuse, before the first step, a job that cannot fit; free other models first.
        True: it fits only with the VAE decoding in tiles (then it does)."""
        size = largest_size(request)
        args = (loaded.pipe, size.width, size.height, request.batch_size, self.dtype)
        need = activation_bytes(*args)
        if need <= available_bytes(self.env.device):
            return False
        self.env.cache.keep_only({key})
        free = available_bytes(self.env.device)
        if need <= free:
            return False
        if tiled_vae_bytes(*args) <= free:
            return True  # tiles change the pixels a little: only where the whole would not fit
        raise OutOfMemory(
            f"{size} with a batch of {request.batch_size} needs about "
            f"{gigabytes(need)} of memory beyond the model, and {gigabytes(free)} is free. "
            "Choose a smaller width/height or batch size, or close other programs."
        )

    @staticmethod
    def _scheduler(loaded: LoadedSd, sampling: Sampling, prediction: str = "") -> Any:
        config = dict(loaded.scheduler_config)
        if prediction:  # the user's setting for a model whose file does not say
            config["prediction_type"] = PREDICTION_TYPES[prediction]
        if sampling.sampler is None:
            config.update(spacing_override(sampling.spacing))
            return loaded.scheduler_class.from_config(config)
        return make_scheduler(sampling.sampler, config, sampling.spacing)

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
            "precision": self.numerics.precision,
            **({"channels_last": True} if self.numerics.channels_last else {}),
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


def _offload_info(loaded: LoadedSd) -> dict[str, Any]:
    """The recipe's record of where the weights lived (CUDA only): the same pixels in
    every mode on the same device, so it is a fact about speed, not about the picture."""
    if loaded.offload is None:
        return {}
    note = loaded.offload.note
    return {"offload": loaded.offload.mode} | ({"notes": [note]} if note else {})


def _with_notes(info: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    notes = list(info.get("notes", ())) + list(more.get("notes", ()))
    return info | more | ({"notes": notes} if notes else {})


def _check_finite(images: np.ndarray, model: SdModel) -> None:
    """All-NaN pixels are a broken model, not a black picture to save."""
    if not np.isfinite(images).all():
        raise BadModelFile(
            f"The model {model.path} produced no picture (its numbers overflowed to NaN). "
            "Its weights or its VAE are broken, or a half-precision VAE overflowed: try the "
            "CPU, or download the model again."
        )


@runner(task=Task.LATENT_WALK, family=Family.SD)
class SdLatentWalkRunner(SdTxt2ImgRunner):
    """Frames of one job whose starting noise (and prompt) move between two ends. Each
    frame is the pipeline called with that frame's noise, and the first seed's generator
    for whatever noise the sampler adds: frame 0 is the first seed's txt2img image."""

    def _total_steps(self, request: LatentWalkRequest) -> int:
        return request.sampling.steps * request.frames

    def _denoise(
        self, pipe: Any, model: SdModel, request: LatentWalkRequest, ctx: JobContext
    ) -> Drawn:
        ends = [
            starting_noise(pipe, request.size, seed)
            for seed in (request.sampling.seed, request.to_seed)
        ]
        noises = path_between(*ends, request.frames, request.mode)
        prompts = _prompt_path(pipe, request)
        steps = request.sampling.steps
        frames = []
        for i, noise in enumerate(noises):
            output = pipe(
                **prompts(i / (request.frames - 1)),
                latents=noise.reshape(ends[0].shape).to(pipe.device, pipe.unet.dtype),
                **call_settings(request),
                generator=default_generators(request.sampling.seed, 1),
                callback_on_step_end=step_reporter(
                    ctx, steps, model.preview_family, offset=i * steps, total=steps * request.frames
                ),
            )
            frames.append(output.images[0])
        return Drawn(np.stack(frames))

    def _sheet(self, request: LatentWalkRequest) -> Sheet:
        return Sheet.STRIP if request.grid else Sheet.NONE

    def _result(
        self, rgb: np.ndarray, index: int, request: LatentWalkRequest, info: dict[str, Any]
    ) -> ResultImage:
        t = index / (request.frames - 1)
        return ResultImage(rgb, request.sampling.seed, index, {**info, "t": t})


@runner(task=Task.XYZ_PLOT, family=Family.SD)
class SdXyzPlotRunner(XyzPlotRunner):
    """An X/Y/Z plot whose cells are this family's text-to-image jobs."""

    cell_runner = SdTxt2ImgRunner
    steps_of = staticmethod(total_steps)


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
