"""The VAE's runners: sample from the prior, decode latent vectors, train."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family, Task
from engine.api.outcomes import FramesOutcome, ImagesOutcome, ModelOutcome, ResultImage
from engine.api.parts import ModelRef
from engine.api.requests import DecodeRequest, SampleRequest, TrainRequest
from engine.cache import CacheKey, FileIdentity
from engine.context import JobContext
from engine.device import dtype_name, inference_dtype
from engine.models.common.modelfile import check_model_path
from engine.models.vae.files import RETRAIN_HINT, load_vae, save_vae
from engine.models.vae.net import Vae, VaeConfig, decode_latents, sample_latent
from engine.models.vae.training import (
    VaeTrainer,
    load_training_data,
    training_meta,
    vae_preset,
)
from engine.registry import RunnerEnv, runner
from engine.train.loop import run_training


@dataclass(frozen=True)
class LoadedVae:
    model: Vae
    config: VaeConfig
    meta: dict[str, Any]


class VaeModels:
    """Loading through the shared model cache (one copy of a file per device and dtype)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def load(self, ref: ModelRef, ctx: JobContext) -> tuple[LoadedVae, Path]:
        path = model_path(ref)
        check_model_path(path, Family.VAE, RETRAIN_HINT)
        dtype = inference_dtype(self.env.device, Family.VAE)
        key = CacheKey(Family.VAE, FileIdentity.of(path), self.env.device.device, dtype_name(dtype))
        ctx.phase = "loading the model"
        loaded = self.env.cache.get(
            key, lambda: LoadedVae(*load_vae(path, self.env.device.device, dtype))
        )
        return loaded, path

    def info(self, ref: ModelRef, path: Path, ctx: JobContext) -> dict[str, Any]:
        model_hash = self.env.hashes.wait(
            self.env.hashes.request(path), lambda: ctx.control.cancelled
        )
        return {
            "model": ref.id,
            "model_path": str(path),
            "model_sha256": model_hash.sha256,
            "model_hash_kind": model_hash.kind,
            "family": Family.VAE.value,
            "device": self.env.device.device,
            "dtype": dtype_name(inference_dtype(self.env.device, Family.VAE)),
            "torch": torch.__version__,
        }


@runner(task=Task.SAMPLE, family=Family.VAE)
class VaeSampleRunner:
    """Draws samples from a VAE's prior; sample i uses seed + i."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = VaeModels(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.restart_clock()
        ctx.phase = "sampling"
        images = []
        for i in range(request.count):
            # One z per seed, decoded alone, so sample i of a batch is bitwise equal to a
            # single-sample run with seed + i.
            z = sample_latent(loaded.config.latent_dim, request.seed + i)
            rgb = decode_latents(loaded.model, z)[0]
            images.append(ResultImage(rgb, seed=request.seed + i, index=i))
            ctx.report(i + 1, request.count, preview=lambda rgb=rgb: rgb)
        info = self.models.info(request.model, path, ctx)
        return ImagesOutcome(tuple(replace(image, info=dict(info)) for image in images))

    def unload(self) -> None:
        pass


@runner(task=Task.DECODE, family=Family.VAE)
class VaeDecodeRunner:
    """Decodes given latent vectors: the latent sliders' frames."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = VaeModels(env)

    def run(self, request: DecodeRequest, ctx: JobContext) -> FramesOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        request.latents.check(loaded.config.latent_dim)
        z = torch.tensor(request.latents.vectors, dtype=torch.float32)
        ctx.check_cancelled()
        return FramesOutcome(tuple(decode_latents(loaded.model, z)))

    def unload(self) -> None:
        pass


@runner(task=Task.TRAIN, family=Family.VAE)
class VaeTrainRunner:
    """Trains a VAE preset on a bundled data set; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        preset = vae_preset(request.preset)
        settings = replace(
            preset.settings,
            dataset=request.dataset.name,
            batch_size=request.training.batch_size,
            learning_rate=request.training.learning_rate,
        )
        if request.dataset.name != preset.settings.dataset:
            raise BadInput(
                f"The {request.preset} VAE is shaped for the {preset.settings.dataset} data "
                f"set, not {request.dataset.name}."
            )
        ctx.phase = "loading the training data"
        data, fingerprint = load_training_data(settings.dataset)
        seed = request.training.seed
        ctx.phase = "training"
        trainer = VaeTrainer(
            preset.config, data, settings, request.training.steps, seed, self.env.device.device
        )
        output = Path(request.output)
        meta = {"preset": request.preset, **training_meta(settings, fingerprint, seed)}

        def checkpoint(step: int, losses: dict[str, float]) -> None:
            trainer.model.eval()
            save_vae(
                output,
                trainer.model,
                preset.config,
                {**meta, "steps": step, "final_losses": losses},
            )

        result = run_training(
            trainer, request.training.steps, ctx, checkpoint, request.training.checkpoint_every
        )
        return ModelOutcome(str(output), result.step, result.metrics, result.stopped_early)

    def unload(self) -> None:
        pass
