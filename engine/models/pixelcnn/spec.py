"""The PixelCNN family as data (engine.api.families reads it; no torch here)."""

from dataclasses import dataclass, field

from engine.api.errors import BadInput
from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import SampleOptions

TEMPERATURES = (0.05, 2.0)


@dataclass(frozen=True, kw_only=True)
class PixelSampleOptions(SampleOptions):
    """Each pixel drawn from its softmax at a temperature: 1 is the model's own
    distribution (what the quality meter draws); below 1, surer and cleaner pixels."""

    temperature: float = field(
        default=1.0, metadata={"help": "each pixel's softmax temperature (1: the model's own)"}
    )

    def check(self, count: int) -> None:
        low, high = TEMPERATURES
        if not low <= self.temperature <= high:
            raise BadInput(
                f"A PixelCNN's temperature is from {low} to {high}; 1 draws from the model "
                f"itself (got {self.temperature})."
            )

    def words(self) -> tuple[str, ...]:
        return () if self.temperature == 1.0 else (f"temperature {self.temperature:g}",)


SPEC = FamilySpec(
    id="pixelcnn",
    title="PixelCNN",
    about=(
        "A <b>PixelCNN</b> writes an image one pixel at a time, in reading order: a "
        "network of <i>masked</i> convolutions, which see only the pixels already "
        "written, gives each pixel a probability for every level it can take, so the "
        "probability of a whole image is exact, a product of these. Sampling draws the "
        "pixels one by one, each given those drawn before it."
    ),
    idea=(
        "Predict each pixel from the pixels above and to its left with masked "
        "convolutions, gated and in two stacks so that none is hidden from view: an "
        "exact likelihood, sampled one pixel at a time."
    ),
    year=2016,
    paper=(
        "van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, "
        "“Conditional Image Generation with PixelCNN Decoders” (NeurIPS, 2016)"
    ),
    # A softmax over each pixel's levels (digits: 17 ink levels; 8-bit colour quantised
    # to 8 levels a channel): the levels themselves, not a density on dequantised ones.
    likelihood=Likelihood("exact", "pixel levels"),
    tasks=(Task.SAMPLE, Task.TRAIN, Task.SCORE, Task.PIXELS),
    explore_tools=("pixels",),
    lab=True,
    trains_on=("digits", "shapes"),
    presets="engine.models.pixelcnn.training:PIXELCNN_PRESETS",
    sample_options=PixelSampleOptions,
)
