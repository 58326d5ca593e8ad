"""The GMM family as data (engine.api.families reads it; no torch here)."""

from dataclasses import dataclass, field

from engine.api.errors import BadInput
from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import SampleOptions
from engine.models.gmm.settings import GmmTrainSettings


@dataclass(frozen=True, kw_only=True)
class MixtureSampleOptions(SampleOptions):
    """A mixture's draw: from the component each seed picks by weight, or from one."""

    component: int = field(
        default=-1,
        metadata={
            "help": "draw from this component only (-1: any, by weight)",
            "range": (-1, 9999),
            "title": "Component",
            "unset": -1,  # the value that means "not chosen": the details leave it out
        },
    )

    def check(self, count: int) -> None:
        if self.component < -1:
            raise BadInput(
                f"The component to draw from is a number from 0, or -1 for any "
                f"(got {self.component})."
            )

    def words(self) -> tuple[str, ...]:
        return () if self.component == -1 else (f"component {self.component}",)


SPEC = FamilySpec(
    id="gmm",
    title="GMM",
    about=(
        "A <b>Gaussian mixture</b> models whole images as a few bell-shaped clouds in pixel "
        "space: each <i>component</i> is a mean image with its own spread, and a weight "
        "says how often it is picked. EM (expectation–maximisation) fits them by "
        "alternately sharing each training image among the components and re-estimating "
        "each from its share. Sampling picks a component, then adds its Gaussian noise."
    ),
    idea=(
        "Fit a mixture of Gaussians by alternating two steps: share each image among "
        "the components (E), then re-estimate each component from its share (M); the "
        "likelihood never decreases."
    ),
    year=1977,
    paper=(
        "Dempster, Laird & Rubin, “Maximum Likelihood from Incomplete Data via "
        "the EM Algorithm” (J. Royal Statistical Society B, 1977)"
    ),
    likelihood=Likelihood("exact", "dequantised pixel levels"),
    tasks=(Task.SAMPLE, Task.TRAIN, Task.SCORE, Task.COMPONENTS),
    lab=True,
    trains_on=("digits", "shapes", "emoji"),
    presets="engine.models.gmm.training:GMM_PRESETS",
    train_settings=GmmTrainSettings,
    batched=False,
    sample_options=MixtureSampleOptions,
    explore_tools=("components",),
)
