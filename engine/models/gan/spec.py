"""The GAN family as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec
from engine.api.kinds import Task
from engine.api.sample_options import LatentSampleOptions

SPEC = FamilySpec(
    id="gan",
    title="GAN",
    about=(
        "A <b>generative adversarial network</b>: a generator turns random noise into images, "
        "a discriminator tries to tell them from real ones, and each learns from the other. "
        "Every seed is a noise vector, hence a new image."
    ),
    idea=(
        "A generator learns to fool a discriminator that learns to tell its images "
        "from real ones: a two-player minimax game."
    ),
    year=2014,
    paper="Goodfellow et al., “Generative Adversarial Nets” (NeurIPS 2014)",
    tasks=(
        Task.SAMPLE,
        Task.DECODE,
        Task.INTERPOLATE,
        Task.SEED_LATENT,
        Task.LATENT_AXES,
        Task.ARITHMETIC,
        Task.TRAIN,
        Task.SCORE,
    ),
    lab=True,
    trains_on=("digits", "shapes", "emoji"),
    presets="engine.models.gan.training:GAN_PRESETS",
    sample_options=LatentSampleOptions,
    explore_tools=("sliders", "walk", "arithmetic"),
)
