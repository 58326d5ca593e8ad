"""The RBM's runners: sample (Gibbs chains from random pixels), train (CD-k or PCD),
score (the quality meter, and held-out bits per pixel estimated by AIS: of binarised
pixels for a Bernoulli machine, of dequantised pixel levels for a Gaussian one), and the
Explore page's Gibbs chain (filters, a chain's frames, clamped completions)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadModelFile
from engine.api.kinds import Family, Task
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage, Sheet
from engine.api.requests import GibbsRequest, SampleRequest, ScoreRequest, TrainRequest
from engine.context import JobContext
from engine.models.common.cached import CachedModels
from engine.models.common.images import to_rgb_uint8
from engine.models.common.model_data import model_data
from engine.models.common.one_thread import one_torch_thread
from engine.models.rbm.ais import DEFAULT_AIS, AisSettings, estimate_log_partition
from engine.models.rbm.explore import (
    as_rgb,
    chain_frames,
    clamped_pixels,
    complete,
    filters_of,
    frame_steps,
    require_digits,
)
from engine.models.rbm.files import RETRAIN_HINT, LoadedRbm, load_rbm
from engine.models.rbm.machine import bits_per_dim
from engine.models.rbm.pixels import RbmConfig, dequantise, level_bits, levels_of, visible_kind
from engine.models.rbm.sampling import gibbs_draws
from engine.models.rbm.spec import GibbsSampleOptions
from engine.models.rbm.training import RbmTrainer, rbm_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job

RBM = Family("rbm")
CHUNK = 16  # chains per progress report and cancel check
HELD_OUT_NOISE_SEED = 0  # a Gaussian machine's held-out dequantisation: one fixed draw


def rbm_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(env, RBM, RETRAIN_HINT, load_rbm)


@runner(task=Task.SAMPLE, family=RBM)
class RbmSampleRunner:
    """Sample i is the chain of seed + i (its start and every draw)."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = rbm_models(env)

    def run(self, request: SampleRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        options = request.options
        if not isinstance(options, GibbsSampleOptions):
            options = GibbsSampleOptions()  # the spec's default chain length
        steps = options.gibbs_steps
        ctx.restart_clock()
        ctx.phase = "running Gibbs chains"
        images: list[ResultImage] = []
        for first in range(0, request.count, CHUNK):
            seeds = range(request.seed + first, request.seed + min(request.count, first + CHUNK))
            with one_torch_thread():  # see engine.models.common.one_thread
                means = gibbs_draws(loaded.rbm, seeds, steps)
            pixels = to_rgb_uint8(loaded.pictures(means))
            for rgb, seed in zip(pixels, seeds, strict=True):
                images.append(ResultImage(rgb, seed=seed, index=len(images)))
            ctx.report(len(images), request.count, preview=lambda rgb=rgb: rgb)
        ctx.check_cancelled()  # a cancel during the last chunk still cancels
        info = {**self.models.info(request.model, path, ctx), "gibbs_steps": steps}
        return ImagesOutcome(
            tuple(replace(image, info=dict(info)) for image in images),
            Sheet.GRID if request.grid else Sheet.NONE,
        )

    def unload(self) -> None:
        pass


@runner(task=Task.TRAIN, family=RBM)
class RbmTrainRunner:
    """One minibatch update a step; Stop keeps the step reached."""

    retry_on_oom = False  # it writes checkpoints as it goes

    def __init__(self, env: RunnerEnv) -> None:
        self.env = env

    def run(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        ctx.phase = "loading the training data"
        seed = request.training.seed
        data = open_dataset(request.dataset.name, request.image_size, seed)
        preset = rbm_preset(request.preset)
        steps, settings = resolve(request.training, preset.steps, preset.settings)
        kind = visible_kind(settings.visible, data.info.channels)
        levels = levels_of(data.info.name) if kind == "gaussian" else 2
        config = RbmConfig(data.info.size, data.info.channels, settings.hidden, kind, levels)
        config.check()  # colour is refused (by a binary machine) before any image is read
        trainer = RbmTrainer(config, data, settings, seed)
        meta = {
            "preset": request.preset,
            "source": request.dataset.name,  # a folder's full path: what resuming needs
            "image_size": data.info.size,
            **training_meta(data.info, settings, seed, trainer.count),
            "note": data.info.note,
        }
        return run_train_job(request, ctx, trainer, meta, steps)

    def unload(self) -> None:
        pass


@runner(task=Task.SCORE, family=RBM)
class RbmScoreRunner(ScoreRunner):
    """The quality meter on this family's samples, plus held-out bits per pixel (of the
    binarised images, or of the dequantised levels for a Gaussian machine), with log Z
    estimated by AIS: an estimate, not a bound."""

    def family_values(self, request: ScoreRequest, dataset: str) -> dict[str, float]:
        from engine.quality.score import held_out_images_like

        path = model_path(request.model)
        loaded = load_rbm(path)
        config = loaded.config
        images = held_out_images_like(dataset, config.channels, config.image_size)
        if images is None:
            return {}
        bits = held_out_bits(loaded, images)
        if not np.isfinite(bits):
            raise BadModelFile(
                f"{path.name} gives the held-out images a likelihood that is not a number "
                f"({bits}): its training diverged. Train it again with a lower learning rate."
            )
        return {"held_out_bits_per_dim_estimate": bits}


def held_out_bits(loaded: LoadedRbm, images: torch.Tensor, ais: AisSettings = DEFAULT_AIS) -> float:
    """−log₂ p per pixel, log Z by AIS (Salakhutdinov & Murray 2008): of the binarised
    images, or of the images dequantised with one fixed draw of noise, on the levels'
    scale (engine.models.rbm.pixels)."""
    with one_torch_thread():
        log_z = estimate_log_partition(loaded.rbm, loaded.base_biases, ais).log_partition
    config, scale = loaded.config, loaded.scale
    if scale is None:
        return bits_per_dim(-loaded.rbm.log_prob(loaded.visibles(images), log_z), config.dims)
    noise = torch.Generator().manual_seed(HELD_OUT_NOISE_SEED)
    points = dequantise(images, config.levels, noise)
    log_p = loaded.rbm.log_prob(scale.to_visible(points), log_z) + scale.log_jacobian
    return level_bits(log_p, config.dims, config.levels)


@runner(task=Task.GIBBS, family=RBM)
class RbmGibbsRunner:
    """Filters (strongest first), seed's chain at its frame steps, then a held-out digit
    and its clamped completions: see GibbsRequest for what each image's info holds."""

    def __init__(self, env: RunnerEnv) -> None:
        self.models = rbm_models(env)
        # The held-out images of a data set, read once: the page asks on every spin.
        self._held_out: dict[str, torch.Tensor | None] = {}

    def run(self, request: GibbsRequest, ctx: JobContext) -> ImagesOutcome:
        ctx.check_cancelled()
        loaded, path = self.models.load(request.model, ctx)
        digit = self._digit(loaded, request)  # a missing digit is refused before any work
        info = self.models.info(request.model, path, ctx)
        ctx.restart_clock()
        ctx.phase = "running Gibbs chains"
        shown: list[tuple[np.ndarray, dict]] = []
        for unit in filters_of(loaded):
            about = {"part": "filter", "unit": unit.unit, "norm": unit.norm}
            if loaded.config.channels == 1:  # (a colour filter's thousands stay here)
                about["weights"] = unit.weights.tolist()
            shown.append((unit.rgb, about))
        frames = len(frame_steps(request.steps))
        total = frames + (request.completions if digit is not None else 0)

        def between(done: int) -> None:  # after each frame: progress, then a cancel
            ctx.report(done + 1, total)
            ctx.check_cancelled()

        with one_torch_thread():  # see engine.models.common.one_thread
            for step, mean in chain_frames(loaded.rbm, request.seed, request.steps, between):
                about = {"part": "chain", "step": step, "seed": request.seed}
                shown.append((as_rgb(mean, loaded)[0], about))
            if digit is not None:
                about = {"part": "digit", "image_index": request.image_index}
                shown.append((as_rgb(digit[None], loaded)[0], about))
                for i in range(request.completions):
                    shown.append(self._completion(loaded, digit, request, request.seed + i))
                    between(frames + i)
        return ImagesOutcome(
            tuple(
                ResultImage(rgb, about.get("seed"), n, {**info, **about})
                for n, (rgb, about) in enumerate(shown)
            )
        )

    def _completion(
        self, loaded: LoadedRbm, digit: torch.Tensor, request: GibbsRequest, seed: int
    ) -> tuple[np.ndarray, dict]:
        side = loaded.config.image_size
        clamped = clamped_pixels(side, loaded.config.channels)
        filled = complete(loaded.rbm, digit, clamped, seed, request.steps)
        about = {"part": "completion", "seed": seed, "image_index": request.image_index}
        return as_rgb(filled[None], loaded)[0], {**about, "clamped_rows": side // 2}

    def _digit(self, loaded: LoadedRbm, request: GibbsRequest) -> torch.Tensor | None:
        """The held-out image as the machine's visibles (D): binarised as the score runner
        binarises the set, or its levels standardised."""
        if request.image_index is None:
            return None
        images = require_digits(self._images_of(loaded), loaded, request.model.name)
        return loaded.visibles(images)[request.image_index % len(images)]

    def _images_of(self, loaded: LoadedRbm) -> torch.Tensor | None:
        """The held-out part of a bundled data set; a folder's own images otherwise."""
        from engine.quality.score import held_out_images

        source = str(loaded.meta.get("source") or loaded.meta.get("dataset") or "")
        if source not in self._held_out:
            images = held_out_images(source)
            if images is None:
                config = loaded.config
                data = model_data(loaded.meta, config.channels, config.image_size, count=256)
                images = data.images if data is not None else None
            self._held_out = {source: images}  # one data set at a time: the one shown
        return self._held_out[source]

    def unload(self) -> None:
        self._held_out.clear()
