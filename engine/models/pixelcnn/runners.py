"""The PixelCNN's runners: sample (pixel by pixel), train (Adam on the exact likelihood),
score (the quality meter, and exact bits per pixel value on held-out images)."""

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
from engine.models.common.cached import CachedModels
from engine.models.common.images import to_rgb_uint8
from engine.models.common.one_thread import one_torch_thread
from engine.models.common.pixels_explore import Autoregressive, PixelsRunner
from engine.models.pixelcnn import explore
from engine.models.pixelcnn.files import RETRAIN_HINT, LoadedPixelcnn, load_pixelcnn
from engine.models.pixelcnn.pixels import bits_per_dim, levels_of, to_levels
from engine.models.pixelcnn.sampling import sample
from engine.models.pixelcnn.spec import PixelSampleOptions
from engine.models.pixelcnn.training import (
    PixelcnnTrainer,
    config_for,
    pixelcnn_preset,
    training_meta,
)
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job

PIXELCNN = Family("pixelcnn")
CHUNK = 64  # images drawn side by side: per progress report
SCORE_CHUNK = 100  # held-out images a pass


def pixelcnn_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(env, PIXELCNN, RETRAIN_HINT, load_pixelcnn)


@runner(task=Task.SAMPLE, family=PIXELCNN)
class PixelcnnSampleRunner:
    """Sample i is drawn from the uniforms of seed + i (see engine.models.pixelcnn.sampling)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = pixelcnn_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        options = request.options
        if not isinstance(options, PixelSampleOptions):
            options = PixelSampleOptions()  # the model's own distribution
        temperature = options.temperature
        ctx.restart_clock()
        ctx.phase = "drawing pixels"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            with one_torch_thread():  # a pixel at a time: see common.one_thread
                drawn = sample(loaded.net, seeds, ctx.check_cancelled, temperature)
            pixels = to_rgb_uint8(drawn)
            for rgb, seed in zip(pixels, seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = {**self.models.info(request.model, path, ctx), "temperature": temperature}
        return ImagesOutcome(
            tuple(replace(image, info=dict(info)) for image in images),
            Sheet.GRID if request.grid else Sheet.NONE,
        )

    def unload(self) -> None:
        pass


@runner(task=Task.PIXELS, family=PIXELCNN)
class PixelcnnPixelsRunner(PixelsRunner):
    """Explore → Pixel by pixel (engine.models.common.pixels_explore) on explore.py."""

    def __init__(self, env: RunnerEnv) -> None:
        super().__init__()
        self.models = pixelcnn_models(env)

    def open(self, request: PixelsRequest, ctx: JobContext) -> tuple[Autoregressive, dict]:
        loaded, path = self.models.load(request.model, ctx)
        net, config = loaded.net, loaded.config
        model = Autoregressive(
            surprise=partial(explore.surprise, net),
            complete=partial(explore.complete, net),
            drawing=partial(explore.drawing, net),
            channels=config.channels,
            image_size=config.image_size,
            meta=loaded.meta,
        )
        return model, self.models.info(request.model, path, ctx)

    def threads(self) -> AbstractContextManager[None]:
        return one_torch_thread()

    def unload(self) -> None:
        self.held_out.clear()


@runner(task=Task.TRAIN, family=PIXELCNN)
class PixelcnnTrainRunner:
    """One Adam step a minibatch; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = pixelcnn_preset(request.preset)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        info = data.info
        config = config_for(info.size, info.channels, levels_of(info.name), settings)
        config.check()
        trainer = PixelcnnTrainer(config, data, settings, seed)
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": info.size,
            **training_meta(info, settings, seed, trainer.batches.count),
            "note": info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=PIXELCNN)
class PixelcnnScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus the exact bits per pixel value of
    held-out images (over the levels themselves: see engine.models.pixelcnn.pixels)."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images_like

        loaded = load_pixelcnn(model_path(request.model))
        config = loaded.config
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        return {"held_out_bits_per_dim": held_out_bits(loaded, images)}


@torch.no_grad()
def held_out_bits(loaded: LoadedPixelcnn, images: torch.Tensor) -> float:
    """−log₂ p(x) per pixel value of N x C x H x W images in [0, 1], at the model's levels."""
    levels = to_levels(images, loaded.config.levels)
    log_probs = torch.cat([loaded.net.log_prob(part) for part in levels.split(SCORE_CHUNK)])
    return bits_per_dim(log_probs, loaded.config.dims)
