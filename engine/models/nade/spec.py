"""The NADE family as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import SampleOptions

# What the Train tab says beside the colour sets (engine.models.common.binary_pixels
# refuses them with the same reason when a job asks anyway).
COLOUR = (
    "A NADE models black-and-white pixels, one on/off value each: shapes and emoji "
    "are in colour. Train it on digits, or a folder of grey images."
)

SPEC = FamilySpec(
    id="nade",
    title="NADE",
    about=(
        "A <b>neural autoregressive distribution estimator</b> writes the probability of a "
        "black-and-white image as a chain: each pixel's chance of being ink given the "
        "pixels before it, in reading order, from one hidden layer whose weights all the "
        "pixels share. So the likelihood is <i>exact</i>, and sampling draws the pixels "
        "one by one, top left to bottom right; a sample's picture shows how sure the "
        "model was of each pixel it drew."
    ),
    idea=(
        "Write a binary image's probability as a product of per-pixel conditionals, each "
        "a small network sharing its weights with the others: an RBM-like model whose "
        "likelihood is exact and tractable."
    ),
    year=2011,
    paper=(
        "Larochelle & Murray, “The Neural Autoregressive Distribution Estimator” (AISTATS, 2011)"
    ),
    likelihood=Likelihood("exact", "binarised pixels"),
    tasks=(Task.SAMPLE, Task.TRAIN, Task.SCORE, Task.PIXELS),
    lab=True,
    explore_tools=("pixels",),
    trains_on=("digits",),
    cannot_model=(
        ("shapes", COLOUR),
        ("emoji", COLOUR),
    ),
    presets="engine.models.nade.training:NADE_PRESETS",
    sample_options=SampleOptions,  # a sample is its seed alone: nothing to choose
)
