"""The NADE's runners: sample (pixel by pixel in raster order), train (Adam on the exact
likelihood), score (the quality meter, and the exact held-out bits per pixel), and the
Explore page's pixel by pixel (a drawing to watch, completions, surprise)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from functools import partial

import torch

from engine.api.catalogue import model_path
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage, Sheet
from engine.api.requests import PixelsRequest, SampleRequest, ScoreRequest, TrainRequest
from engine.context import JobContext
from engine.models.common.binary_pixels import binarise
from engine.models.common.cached import CachedModels
from engine.models.common.images import to_rgb_uint8
from engine.models.common.one_thread import one_torch_thread
from engine.models.common.pixels_explore import Autoregressive, PixelsRunner
from engine.models.nade import explore
from engine.models.nade.files import RETRAIN_HINT, LoadedNade, load_nade
from engine.models.nade.network import bits_per_dim
from engine.models.nade.pixels import NadeConfig, as_images
from engine.models.nade.sampling import pictures
from engine.models.nade.training import NadeTrainer, nade_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job

NADE = Family("nade")
CHUNK = 64  # samples per progress report and cancel check
SCORE_CHUNK = 256  # held-out images scored at once (N x D x H floats each time)


def nade_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(env, NADE, RETRAIN_HINT, load_nade)


@runner(task=Task.SAMPLE, family=NADE)
class NadeSampleRunner:
    """Sample i draws its pixels with the numbers of seed + i; its picture shows each
    pixel's probability of ink given those drawn before it (sampling.pictures)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = nade_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        ctx.restart_clock()
        ctx.phase = "drawing pixels"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            with one_torch_thread():  # 64 tiny steps in a row: see common.one_thread
                probabilities = pictures(loaded.nade, seeds)
            pixels = to_rgb_uint8(as_images(probabilities, loaded.config))
            for rgb, seed in zip(pixels, seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = self.models.info(request.model, path, ctx)
        return ImagesOutcome(
            tuple(replace(image, info=dict(info)) for image in images),
            Sheet.GRID if request.grid else Sheet.NONE,
        )

    def unload(self) -> None:
        pass


@runner(task=Task.PIXELS, family=NADE)
class NadePixelsRunner(PixelsRunner):
    """Explore → Pixel by pixel (engine.models.common.pixels_explore) on explore.py."""

    def __init__(self, env: RunnerEnv) -> None:
        super().__init__()
        self.models = nade_models(env)

    def open(self, request: PixelsRequest, ctx: JobContext) -> tuple[Autoregressive, dict]:
        loaded, path = self.models.load(request.model, ctx)
        nade, config = loaded.nade, loaded.config
        model = Autoregressive(
            surprise=partial(explore.surprise, nade),
            complete=partial(explore.complete, nade),
            drawing=partial(explore.drawing, nade),
            channels=config.channels,
            image_size=config.image_size,
            meta=loaded.meta,
        )
        return model, self.models.info(request.model, path, ctx)

    def threads(self) -> AbstractContextManager[None]:
        return one_torch_thread()  # a pixel at a time: see common.one_thread

    def unload(self) -> None:
        self.held_out.clear()


@runner(task=Task.TRAIN, family=NADE)
class NadeTrainRunner:
    """One Adam step on a minibatch a step; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = nade_preset(request.preset)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        config = NadeConfig(data.info.size, data.info.channels, settings.hidden)
        config.check()  # colour is refused before any image is read
        trainer = NadeTrainer(config, data, settings, seed)
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed, len(trainer.points)),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=NADE)
class NadeScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus the exact held-out bits per pixel
    of the binarised images."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images_like

        loaded = load_nade(model_path(request.model))
        config = loaded.config
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        return {"held_out_bits_per_dim": held_out_bits(loaded, images)}


def held_out_bits(loaded: LoadedNade, images: torch.Tensor) -> float:
    """−log₂ p(v) per pixel of the binarised images, exactly."""
    v = binarise(images)
    with torch.no_grad():
        log_prob = torch.cat([loaded.nade.log_prob(c) for c in v.split(SCORE_CHUNK)])
    return bits_per_dim(log_prob, loaded.config.dims)
