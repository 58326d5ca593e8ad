"""The DDPM family as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import DiffusionSampleOptions

SPEC = FamilySpec(
    id="ddpm",
    title="DDPM",
    about=(
        "A <b>denoising diffusion</b> model learned to remove a little noise at a time. "
        "Sampling starts from pure noise (from the seed) and denoises it step by step; a "
        "class-conditional model draws the class you pick."
    ),
    idea=(
        "Generate by reversing a gradual noising process one learned denoising step "
        "at a time, trained on a weighted variational bound."
    ),
    year=2020,
    paper="Ho, Jain & Abbeel, “Denoising Diffusion Probabilistic Models” (NeurIPS 2020)",
    likelihood=Likelihood("bound", "pixel levels (the variational bound, no class)"),
    tasks=(
        Task.SAMPLE,
        Task.DIFFUSE,
        Task.FORWARD_NOISE,
        Task.DESCRIBE,
        Task.TRAIN,
        Task.SCORE,
    ),
    lab=True,
    trains_on=("digits", "shapes", "emoji"),
    presets="engine.models.ddpm.training:DDPM_PRESETS",
    sample_options=DiffusionSampleOptions,
    explore_tools=("reverse", "forward"),
)
