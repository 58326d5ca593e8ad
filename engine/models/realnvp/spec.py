"""The RealNVP family as data (engine.api.families reads it; no torch here)."""

import math
from dataclasses import dataclass, field

from engine.api.errors import BadInput
from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import LatentSampleOptions

MAX_TEMPERATURE = 2.0


@dataclass(frozen=True, kw_only=True)
class FlowSampleOptions(LatentSampleOptions):
    """A flow's draw: z ~ N(0, T²I) decoded (T < 1 trades variety for cleaner images;
    T = 0 is the code at the prior's mode, the same image for every seed)."""

    temperature: float = field(
        default=1.0,
        metadata={
            "help": f"the prior's spread, 0 to {MAX_TEMPERATURE:g} (lower: cleaner)",
            "range": (0.0, MAX_TEMPERATURE),
            "title": "Temperature",
        },
    )

    def check(self, count: int) -> None:
        super().check(count)
        t = self.temperature
        if not (math.isfinite(t) and 0 <= t <= MAX_TEMPERATURE):
            raise BadInput(
                f"A flow's temperature scales its random code: choose a number from 0 to "
                f"{MAX_TEMPERATURE:g} (got {t})."
            )

    def words(self) -> tuple[str, ...]:
        return (f"temperature {self.temperature:g}",)


SPEC = FamilySpec(
    id="realnvp",
    title="RealNVP",
    about=(
        "A <b>normalising flow</b>: a chain of invertible <i>affine coupling</i> layers, "
        "each of which rescales and shifts half of the pixels by amounts computed from the "
        "other half, turns an image into a code of the same size that should look like "
        "standard normal noise. Being invertible, it gives every image its exact code and "
        "its exact likelihood; sampling decodes random noise."
    ),
    idea=(
        "Stack invertible coupling layers, each scaling and shifting half of the values "
        "by functions of the other half, so that the likelihood, sampling and every "
        "image's latent code are exact."
    ),
    year=2016,
    paper=(
        "Dinh, Sohl-Dickstein & Bengio, “Density estimation using Real NVP” (ICLR 2017; arXiv 2016)"
    ),
    likelihood=Likelihood("exact", "dequantised pixel levels"),
    tasks=(
        Task.SAMPLE,
        Task.DECODE,
        Task.INTERPOLATE,
        Task.SEED_LATENT,
        Task.TRAIN,
        Task.SCORE,
    ),
    lab=True,
    trains_on=("digits", "shapes"),
    presets="engine.models.realnvp.training:REALNVP_PRESETS",
    sample_options=FlowSampleOptions,
    encodes_images=True,
    explore_tools=("walk",),
)
