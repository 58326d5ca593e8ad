"""The GAN's runners: the latent runners (sample one z per seed, decode given latents,
interpolate, a seed's z, GANSpace axes, arithmetic on z: see engine.models.gan.latent),
train, score."""

from __future__ import annotations

from engine.api.kinds import Family, Task
from engine.api.outcomes import ModelOutcome
from engine.api.requests import TrainRequest
from engine.context import JobContext
from engine.models.common.latent_runners import register_latent_runners
from engine.models.gan.latent import gan_models
from engine.models.gan.training import GanTrainer, gan_preset, training_meta
from engine.quality.runner import ScoreRunner
from engine.registry import RunnerEnv, runner
from engine.train.datasets import open_dataset
from engine.train.job import resolve, run_train_job

# Samples per progress report and cancel check: the Lab's sheet of 64 is one report. The
# generator itself runs 16 rows a pass (engine.models.common.fixed_batch), so sample i of
# any batch is bitwise the run of seed + i alone.
register_latent_runners(Family.GAN, gan_models, sample_chunk=64)


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
