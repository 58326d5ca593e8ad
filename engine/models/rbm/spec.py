"""The RBM family as data (engine.api.families reads it; no torch here)."""

from dataclasses import dataclass, field

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import SampleOptions

MAX_GIBBS_STEPS = int(limits.GIBBS_STEPS.high)  # one range for samples and Explore


@dataclass(frozen=True, kw_only=True)
class GibbsSampleOptions(SampleOptions):
    """A Gibbs chain from random pixels: how many steps before its picture is taken."""

    gibbs_steps: int = field(
        default=1000,
        metadata={
            "help": "Gibbs steps from random pixels (more: nearer the machine's own distribution)",
            "range": (1, MAX_GIBBS_STEPS),
            "title": "Gibbs steps",
        },
    )

    def check(self, count: int) -> None:
        if not 1 <= self.gibbs_steps <= MAX_GIBBS_STEPS:
            raise BadInput(
                f"A Gibbs chain runs 1 to {MAX_GIBBS_STEPS:,} steps (got {self.gibbs_steps})."
            )

    def words(self) -> tuple[str, ...]:
        return (f"{self.gibbs_steps} Gibbs steps",)


SPEC = FamilySpec(
    id="rbm",
    title="RBM",
    about=(
        "A <b>restricted Boltzmann machine</b> scores images with an energy shared "
        "between the pixels and a layer of hidden on/off <i>feature detectors</i>, with "
        "no links within a layer: on digits its pixels are on/off too (binarised), on "
        "colour images each is a Gaussian around what the hidden units say "
        "(Gaussian–Bernoulli). Contrastive divergence trains it by lowering the energy of "
        "training images and raising that of the machine's own short Gibbs-chain "
        "fantasies. Sampling runs a Gibbs chain from random pixels."
    ),
    idea=(
        "Train a product of experts by lowering the energy of the data and raising "
        "that of the model's brief Gibbs-chain reconstructions, instead of the "
        "intractable likelihood gradient."
    ),
    # The machine itself is Smolensky's harmonium (1986); CD made it trainable.
    year=2002,
    paper=(
        "Hinton, “Training Products of Experts by Minimizing "
        "Contrastive Divergence” (Neural Computation, 2002)"
    ),
    # Binarised digits; a Gaussian machine's density is over dequantised pixel levels.
    likelihood=Likelihood(
        "estimate",
        "binarised pixels",
        over_on=(
            ("shapes", "dequantised pixel levels (Gaussian visibles)"),
            ("emoji", "dequantised pixel levels (Gaussian visibles)"),
        ),
    ),
    tasks=(Task.SAMPLE, Task.TRAIN, Task.SCORE, Task.GIBBS),
    lab=True,
    trains_on=("digits", "shapes", "emoji"),
    presets="engine.models.rbm.training:RBM_PRESETS",
    sample_options=GibbsSampleOptions,
    explore_tools=("gibbs",),
)
