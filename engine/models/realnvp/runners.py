"""RealNVP's runners: sample (noise at a temperature, decoded), decode, interpolate and a
seed's code (engine.models.common.latent_runners: a flow's codes are exact, so a walk may
also join two real images' codes), train (Adam on the exact likelihood) and score (the
quality meter, and exact bits per dimension on held-out images)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadModelFile
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage, Sheet
from engine.api.requests import SampleRequest, ScoreRequest, TrainRequest
from engine.context import JobContext
from engine.models.common.cached import CachedModels
from engine.models.common.latent_paths import exact_or_seeded
from engine.models.common.latent_runners import (
    LatentDecodeRunner,
    LatentInterpolateRunner,
    LatentSeedRunner,
)
from engine.models.realnvp.files import RETRAIN_HINT, load_realnvp
from engine.models.realnvp.latent import LoadedRealnvp
from engine.models.realnvp.pixels import RealnvpConfig, bits_per_dim, dequantise, levels_of
from engine.models.realnvp.spec import FlowSampleOptions
from engine.models.realnvp.training import RealnvpTrainer, realnvp_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job

REALNVP = Family("realnvp")
CHUNK = 16  # samples per progress report and cancel check
HELD_OUT_NOISE_SEED = 0  # the dequantisation noise of the held-out images: one fixed draw


def realnvp_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(env, REALNVP, RETRAIN_HINT, load_realnvp)


def code(loaded: LoadedRealnvp, seed: int, *, temperature: float) -> torch.Tensor:
    """Seed `seed`'s code at a temperature: T times its standard normal draw."""
    return loaded.latent(seed) * temperature


@runner(task=Task.SAMPLE, family=REALNVP)
class RealnvpSampleRunner:
    """Sample i decodes T · z of seed + i (or a kept code exactly, at any temperature)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = realnvp_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        options = request.options
        if not isinstance(options, FlowSampleOptions):
            options = FlowSampleOptions()  # the spec's default temperature
        t = options.temperature
        ctx.restart_clock()
        ctx.phase = "sampling"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            drawn = partial(code, loaded, temperature=t)
            z = torch.cat([exact_or_seeded(options.latent, s, drawn) for s in seeds])
            for rgb, seed in zip(loaded.decode(z), seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = {**self.models.info(request.model, path, ctx), "temperature": t}
        return ImagesOutcome(
            tuple(replace(image, info=dict(info)) for image in images),
            Sheet.GRID if request.grid else Sheet.NONE,
        )

    def unload(self) -> None:
        pass


@runner(task=Task.DECODE, family=REALNVP)
class RealnvpDecodeRunner(LatentDecodeRunner):
    models_of = staticmethod(realnvp_models)


@runner(task=Task.INTERPOLATE, family=REALNVP)
class RealnvpInterpolateRunner(LatentInterpolateRunner):
    """Frames between two seeds' codes at temperature 1, or between exact codes (a kept
    sample, or a real image's code: LoadedRealnvp.encode)."""

    models_of = staticmethod(realnvp_models)


@runner(task=Task.SEED_LATENT, family=REALNVP)
class RealnvpSeedRunner(LatentSeedRunner):
    models_of = staticmethod(realnvp_models)


@runner(task=Task.TRAIN, family=REALNVP)
class RealnvpTrainRunner:
    """One minibatch update a step; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = realnvp_preset(request.preset)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        config = RealnvpConfig(
            data.info.size,
            data.info.channels,
            levels_of(data.info.name),
            settings.scales,
            settings.width,
            settings.blocks,
        )
        config.check()
        trainer = RealnvpTrainer(config, data, settings, seed)
        count = None if trainer.images is None else len(trainer.images)
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed, count),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=REALNVP)
class RealnvpScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus the exact bits per dimension of
    held-out images (uniformly dequantised: see engine.models.realnvp.pixels)."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images_like

        path = model_path(request.model)
        loaded = load_realnvp(path)
        config = loaded.config
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        bits = held_out_bits(loaded, images)
        if not torch.isfinite(torch.tensor(bits)):
            raise BadModelFile(
                f"{path.name} gives the held-out images a likelihood that is not a number "
                f"({bits}): its training diverged. Train it again with `{RETRAIN_HINT}`."
            )
        return {"held_out_bits_per_dim": bits}


def held_out_bits(loaded: LoadedRealnvp, images: torch.Tensor) -> float:
    """Exact bits per dimension of the images, dequantised with one fixed draw of noise."""
    noise = torch.Generator().manual_seed(HELD_OUT_NOISE_SEED)
    points = dequantise(images, loaded.config.levels, noise)
    log_p = torch.cat([loaded.log_density(chunk) for chunk in points.split(256)])
    return float(bits_per_dim(log_p.double(), loaded.config.dims, loaded.config.levels))
