"""The GMM's runners: sample (from any component or a chosen one), train (EM), score (the
quality meter, and bits per dimension on held-out images), and its components (means,
weights, and which of them explain a held-out image) for the Explore page."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from engine.api import families, untrusted_json
from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage, Sheet
from engine.api.requests import ComponentsRequest, SampleRequest, ScoreRequest, TrainRequest
from engine.api.train_settings import with_settings
from engine.context import JobContext
from engine.data import pixel_levels
from engine.models.common.cached import CachedModels
from engine.models.common.held_out import HeldOutImages
from engine.models.common.images import to_rgb_uint8
from engine.models.gmm.components import components_of
from engine.models.gmm.files import RETRAIN_HINT, LoadedGmm, load_gmm
from engine.models.gmm.pixels import (
    as_images,
    bits_per_dim,
    dequantise,
    quantise,
)
from engine.models.gmm.spec import MixtureSampleOptions
from engine.models.gmm.training import GmmTrainer, gmm_config, gmm_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import run_train_job

GMM = Family("gmm")
CHUNK = 16  # samples per progress report and cancel check
HELD_OUT_NOISE_SEED = 0  # the dequantisation noise of the held-out images: one fixed draw


def gmm_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(env, GMM, RETRAIN_HINT, load_gmm)


def draw(loaded: LoadedGmm, seed: int, component: int | None) -> torch.Tensor:
    """Seed `seed`'s image, 1 x C x H x W in [0, 1], drawn alone (so sample i of a job is
    the job of seed + i)."""
    point = loaded.gmm.sample(torch.Generator().manual_seed(seed), component)
    return as_images(quantise(point, loaded.config.levels), loaded.config)


@runner(task=Task.SAMPLE, family=GMM)
class GmmSampleRunner:
    """Sample i uses seed + i: a component by weight (or the chosen one), then its noise."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gmm_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        component = self._component(request.options, loaded)
        ctx.restart_clock()
        ctx.phase = "sampling"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            pixels = to_rgb_uint8(torch.cat([draw(loaded, s, component) for s in seeds]))
            for rgb, seed in zip(pixels, seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = {**self.models.info(request.model, path, ctx), "component": component}
        return ImagesOutcome(
            tuple(replace(image, info=dict(info)) for image in images),
            Sheet.GRID if request.grid else Sheet.NONE,
        )

    def _component(self, options: object, loaded: LoadedGmm) -> int | None:
        chosen = options.component if isinstance(options, MixtureSampleOptions) else -1
        if chosen == -1:
            return None
        if chosen >= loaded.gmm.components:
            raise BadInput(
                f"This mixture has {loaded.gmm.components} components, numbered 0 to "
                f"{loaded.gmm.components - 1}; there is no component {chosen}. Choose one of "
                "them, or -1 for any."
            )
        return chosen

    def unload(self) -> None:
        pass


@runner(task=Task.COMPONENTS, family=GMM)
class GmmComponentsRunner:
    """The means as images with their weights, heaviest first; with a held-out image, each
    component's responsibility for it, and the image last."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = gmm_models(env)
        self.held_out = HeldOutImages()

    def run(self, request: ComponentsRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        image = None
        if request.image_index is not None:
            config = loaded.config
            image = self.held_out.pick(
                loaded.meta,
                config.channels,
                config.image_size,
                request.image_index,
                request.model.name,
                without="The components are shown without one.",
            )
        info = self.models.info(request.model, path, ctx)
        results = []
        for component in components_of(loaded, image):
            about = {"component": component.number, "weight": component.weight}
            if component.responsibility is not None:
                about["responsibility"] = component.responsibility
            results.append(ResultImage(component.mean_rgb, None, len(results), {**info, **about}))
        if image is not None:
            about = {"image_index": request.image_index}
            results.append(
                ResultImage(to_rgb_uint8(image)[0], None, len(results), {**info, **about})
            )
        return ImagesOutcome(tuple(results))

    def unload(self) -> None:
        self.held_out.clear()


@runner(task=Task.TRAIN, family=GMM)
class GmmTrainRunner:
    """EM, one iteration a step; Stop keeps the iteration reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = gmm_preset(request.preset)
        settings = with_settings(preset.settings, request.settings or resumed_settings(request))
        levels = pixel_levels(data.info.name)
        config = gmm_config(settings, data.info.size, data.info.channels, levels)
        ctx.phase = "starting EM (k-means++)"
        trainer = GmmTrainer(config, data, settings, seed)
        steps = request.training.steps or preset.steps
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed, trainer.batch_size),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


def resumed_settings(request: TrainRequest) -> tuple[tuple[str, str], ...]:
    """A continued training's settings as its model file records them, when the request
    names none (the Train tab continues a model "with the settings it was made with",
    and a low-rank one's are not its preset's); () when there is no record to read."""
    if not request.resume_from:
        return ()
    name = Path(request.resume_from).name.removesuffix(".train.safetensors")
    record = Path(request.resume_from).with_name(name.removesuffix(".safetensors") + ".json")
    try:
        train = untrusted_json.loads(record.read_bytes())["meta"]["train"]
    except (OSError, ValueError, KeyError, TypeError):
        return ()  # the state's own check then says why it cannot continue
    names = families.train_setting_names(GMM)
    return tuple((key, str(value)) for key, value in train.items() if key in names)


@runner(task=Task.SCORE, family=GMM)
class GmmScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus the exact bits per dimension of
    held-out images (uniformly dequantised: see engine.models.gmm.pixels)."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images_like

        loaded = load_gmm(model_path(request.model))
        config = loaded.config
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        return {"held_out_bits_per_dim": held_out_bits(loaded, images)}


def held_out_bits(loaded: LoadedGmm, images: torch.Tensor) -> float:
    config = loaded.config
    points = dequantise(images.reshape(len(images), -1), config.levels, HELD_OUT_NOISE_SEED)
    return bits_per_dim(loaded.gmm.log_prob(points), config.dims, config.levels)
