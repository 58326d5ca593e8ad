"""The Stable Diffusion family as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec
from engine.api.kinds import Task

SPEC = FamilySpec(
    id="sd",
    title="Stable Diffusion",
    about="Latent diffusion from a text prompt, with the user's own model files.",
    year=2022,
    tasks=(Task.TXT2IMG, Task.LATENT_WALK, Task.CONTROL_MAP, Task.XYZ_PLOT),
)
