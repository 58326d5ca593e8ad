"""The upscalers as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec
from engine.api.kinds import Task

SPEC = FamilySpec(
    id="upscale",
    title="Upscaler",
    about="Super-resolution: a network that draws the detail a larger image needs.",
    year=2018,
    tasks=(Task.UPSCALE, Task.DESCRIBE),
)
