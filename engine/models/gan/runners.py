"""The GAN's runners: sample (one z per seed), decode given latents, interpolate, latent
axes (GANSpace) and arithmetic, train, score."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from engine.api.kinds import Family, Task
from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    ModelOutcome,
    ResultImage,
    VectorsOutcome,
)
from engine.api.requests import (
    ArithmeticRequest,
    DecodeRequest,
    InterpolateRequest,
    LatentAxesRequest,
    SampleRequest,
    SeedLatentRequest,
    TrainRequest,
)
from engine.context import JobContext
from engine.hashing import default_cache_dir
from engine.models.common.cached import CachedModels
from engine.models.common.latent_arithmetic import arithmetic_outcome
from engine.models.common.latent_axes import (
    FACTOR_BASE,
    cached_axes,
    gan_axes,
    with_shape_factors,
)
from engine.models.common.latent_paths import (
    exact_or_seeded,
    interpolation_frames,
    interpolation_outcome,
    path_between,
)
from engine.models.gan.files import RETRAIN_HINT, load_gan
from engine.models.gan.net import GanConfig, Generator, generate, sample_z
from engine.models.gan.training import GanTrainer, gan_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job


@dataclass(frozen=True)
class LoadedGan:
    generator: Generator
    config: GanConfig
    meta: dict[str, Any]

    def latent(self, seed: int) -> torch.Tensor:
        """The z of seed `seed` (standard normal, from a CPU generator)."""
        return sample_z(self.config.z_dim, seed)

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """Generated images N x C x H x W in [0, 1], as floats (what the shapes reader takes)."""
        param = next(self.generator.parameters())
        with torch.inference_mode():
            images = self.generator(z.to(param.device, param.dtype)).float().cpu()
        return (images + 1) / 2

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's first-layer activations: where GANSpace looks for directions."""
        param = next(self.generator.parameters())
        first = self.generator.net[:2] if self.config.arch == "mlp" else self.generator.fc
        with torch.inference_mode():
            return first(z.to(param.device, param.dtype)).float().cpu()


def gan_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(
        env,
        Family.GAN,
        RETRAIN_HINT,
        lambda path, device, dtype: LoadedGan(*load_gan(path, device, dtype)),
    )


# Samples per progress report and cancel check: the Lab's sheet of 64 is one report. The
# generator itself runs 16 rows a pass (engine.models.common.fixed_batch), so sample i of
# any batch is bitwise the run of seed + i alone.
CHUNK = 64


@runner(task=Task.SAMPLE, family=Family.GAN)
class GanSampleRunner:
    """Draws samples; sample i uses seed + i (its own z, drawn alone)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gan_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.restart_clock()
        ctx.phase = "sampling"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            z = torch.cat([exact_or_seeded(request.latent, s, loaded.latent) for s in seeds])
            for rgb, seed in zip(generate(loaded.generator, z), seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = self.models.info(request.model, path, ctx)
        return ImagesOutcome(tuple(replace(image, info=dict(info)) for image in images))

    def unload(self) -> None:
        pass


@runner(task=Task.DECODE, family=Family.GAN)
class GanDecodeRunner:
    """Generates from given latent vectors: interpolation and slider frames."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gan_models(env)

    def run(self, request: DecodeRequest, ctx: JobContext) -> FramesOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        request.latents.check(loaded.config.z_dim)
        z = torch.tensor(request.latents.vectors, dtype=torch.float32)
        return FramesOutcome(tuple(generate(loaded.generator, z)))

    def unload(self) -> None:
        pass


@runner(task=Task.INTERPOLATE, family=Family.GAN)
class GanInterpolateRunner:
    """Frames between two seeds' z; each decoded alone, so the ends equal the samples."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gan_models(env)

    def run(self, request: InterpolateRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ends = (
            exact_or_seeded(request.from_latent, request.from_seed, loaded.latent),
            exact_or_seeded(request.to_latent, request.to_seed, loaded.latent),
        )
        codes = path_between(*ends, request.frames, request.mode)
        frames = interpolation_frames(codes, lambda z: generate(loaded.generator, z)[0], ctx)
        info = self.models.info(request.model, path, ctx)
        return interpolation_outcome(frames, request, info)

    def unload(self) -> None:
        pass


@runner(task=Task.SEED_LATENT, family=Family.GAN)
class GanSeedLatentRunner:
    """The z a seed draws (the sliders' starting point)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gan_models(env)

    def run(self, request: SeedLatentRequest, ctx: JobContext) -> VectorsOutcome:
        ctx.check_cancelled()
        loaded, _path = self.models.load(request.model, ctx)
        return VectorsOutcome((tuple(loaded.latent(request.seed)[0].tolist()),))

    def unload(self) -> None:
        pass


@runner(task=Task.LATENT_AXES, family=Family.GAN)
class GanAxesRunner:
    """GANSpace's principal directions, with the shapes factors each moves."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gan_models(env)

    def run(self, request: LatentAxesRequest, ctx: JobContext) -> AxesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        sha256 = self.models.info(request.model, path, ctx)["model_sha256"]
        ctx.phase = "finding the latent directions"
        return cached_axes(default_cache_dir(), sha256, lambda: self._axes(loaded))

    @staticmethod
    def _axes(loaded: LoadedGan) -> AxesOutcome:
        config = loaded.config
        axes = gan_axes(loaded.features, config.z_dim)
        if loaded.meta.get("source") == "shapes" and (config.channels, config.image_size) == (
            3,
            32,
        ):
            base = torch.cat([loaded.latent(seed) for seed in range(FACTOR_BASE)])
            axes = with_shape_factors(axes, base, loaded.pixels)
        how = (
            "The principal directions of the generator's first-layer features over "
            "4,096 random samples (GANSpace), carried back to its noise vector: the "
            "direction that changes the most first."
        )
        return AxesOutcome(tuple(axes), how)

    def unload(self) -> None:
        pass


@runner(task=Task.ARITHMETIC, family=Family.GAN)
class GanArithmeticRunner:
    """A − B + C on the three seeds' z, as the DCGAN paper did."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gan_models(env)

    def run(self, request: ArithmeticRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.phase = "latent arithmetic"
        a, b, c = (loaded.latent(s) for s in (request.a, request.b, request.c))
        # Each generated alone, as `sample --seed` generates it: the same pixels.
        images = [generate(loaded.generator, z)[0] for z in (a, b, c, a - b + c)]
        return arithmetic_outcome(images, request, self.models.info(request.model, path, ctx))

    def unload(self) -> None:
        pass


@runner(task=Task.TRAIN, family=Family.GAN)
class GanTrainRunner:
    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = gan_preset(request.preset, data.info.size, data.info.channels)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        trainer = GanTrainer(preset.config, data, settings, steps, seed, self.env.device.device)
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


@runner(task=Task.SCORE, family=Family.GAN)
class GanScoreRunner(ScoreRunner):
    """The quality meter on this family's samples."""
