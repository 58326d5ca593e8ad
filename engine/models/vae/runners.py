"""The VAE's runners: sample (from its learned prior when it has one), decode, train."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from engine.api.catalogue import model_path
from engine.api.kinds import Family, Task
from engine.api.outcomes import FramesOutcome, ImagesOutcome, ModelOutcome, ResultImage
from engine.api.requests import (
    DecodeRequest,
    InterpolateRequest,
    SampleRequest,
    ScoreRequest,
    TrainRequest,
)
from engine.context import JobContext
from engine.models.common.cached import CachedModels
from engine.models.common.gmm import Gmm
from engine.models.common.latent_paths import (
    interpolation_frames,
    interpolation_outcome,
    path_between,
)
from engine.models.vae.files import RETRAIN_HINT, load_vae, load_vae_with_prior
from engine.models.vae.net import Vae, VaeConfig, decode_latents, elbo_loss, sample_latent
from engine.models.vae.training import VaeTrainer, training_meta, vae_preset
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job


@dataclass(frozen=True)
class LoadedVae:
    model: Vae
    config: VaeConfig
    meta: dict[str, Any]
    prior: Gmm | None

    def latent(self, seed: int) -> torch.Tensor:
        """The latent code of seed `seed`: from the learned prior, else the standard normal."""
        if self.prior is None:
            return sample_latent(self.config.latent_dim, seed)
        return self.prior.sample(torch.Generator("cpu").manual_seed(seed))


def vae_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(
        env,
        Family.VAE,
        RETRAIN_HINT,
        lambda path, device, dtype: LoadedVae(*load_vae_with_prior(path, device, dtype)),
    )


# Samples decoded per forward pass: batched for speed, few enough that a cancel or a
# progress report is never far away.
CHUNK = 16


@runner(task=Task.SAMPLE, family=Family.VAE)
class VaeSampleRunner:
    """Draws samples; sample i uses seed + i."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.restart_clock()
        ctx.phase = "sampling"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            # One z per seed, drawn alone: sample i of a batch is the run with seed + i.
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            z = torch.cat([loaded.latent(seed) for seed in seeds])
            for rgb, seed in zip(decode_latents(loaded.model, z), seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = self.models.info(request.model, path, ctx)
        return ImagesOutcome(tuple(replace(image, info=dict(info)) for image in images))

    def unload(self) -> None:
        pass


@runner(task=Task.DECODE, family=Family.VAE)
class VaeDecodeRunner:
    """Decodes given latent vectors: the latent sliders' frames."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: DecodeRequest, ctx: JobContext) -> FramesOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        request.latents.check(loaded.config.latent_dim)
        z = torch.tensor(request.latents.vectors, dtype=torch.float32)
        ctx.check_cancelled()
        return FramesOutcome(tuple(decode_latents(loaded.model, z)))

    def unload(self) -> None:
        pass


@runner(task=Task.INTERPOLATE, family=Family.VAE)
class VaeInterpolateRunner:
    """Frames between two seeds' latent codes (drawn as sampling draws them)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = vae_models(env)

    def run(self, request: InterpolateRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ends = (loaded.latent(s) for s in (request.from_seed, request.to_seed))
        codes = path_between(*ends, request.frames, request.mode)
        frames = interpolation_frames(codes, lambda z: decode_latents(loaded.model, z)[0], ctx)
        info = self.models.info(request.model, path, ctx)
        return interpolation_outcome(frames, request, info)

    def unload(self) -> None:
        pass


@runner(task=Task.TRAIN, family=Family.VAE)
class VaeTrainRunner:
    """Trains a VAE on a data set; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = vae_preset(request.preset, data.info.size, data.info.channels)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        trainer = VaeTrainer(preset.config, data, settings, steps, seed, self.env.device.device)
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=Family.VAE)
class VaeScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus its ELBO on held-out images."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images

        model, config, _meta = load_vae(model_path(request.model))
        images = held_out_images(dataset)
        if images is None or images.shape[1:] != (
            config.channels,
            config.image_size,
            config.image_size,
        ):
            return {}
        with torch.no_grad():
            mu, logvar = model.encode(images)
            logits = model.decode_logits(mu)
            loss = elbo_loss(logits, images, mu, logvar)
            error = (torch.sigmoid(logits) - images).abs().mean()
        return {"held_out_neg_elbo": loss.total.item(), "held_out_recon_error": error.item()}
