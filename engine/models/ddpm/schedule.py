"""The noise schedule and the samplers, from diffusers' schedulers (not written again here).

Training adds noise with DDPMScheduler.add_noise; sampling steps with DDIMScheduler: eta 0
is deterministic DDIM (10–100 steps), eta 1 over all T steps is DDPM's ancestral sampler.
"""

from __future__ import annotations

from engine.models.common import hf_env  # noqa: F401  isort: skip  (before any hugging-face import)

from diffusers import DDIMScheduler, DDPMScheduler

from engine.models.ddpm.net import DdpmConfig


def training_scheduler(config: DdpmConfig) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=config.timesteps,
        beta_schedule=config.beta_schedule,
        clip_sample=True,
        prediction_type=config.prediction,
    )


def ddim_scheduler(config: DdpmConfig, steps: int) -> DDIMScheduler:
    scheduler = DDIMScheduler.from_config(training_scheduler(config).config)
    scheduler.set_timesteps(steps)
    return scheduler
