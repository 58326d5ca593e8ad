"""The PixelCNN family as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task

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
    year=2016,
    paper=(
        "van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, "
        "“Conditional Image Generation with PixelCNN Decoders” (NeurIPS, 2016)"
    ),
    # A softmax over each pixel's levels (digits: 17 ink levels; 8-bit colour quantised
    # to 8 levels a channel): the levels themselves, not a density on dequantised ones.
    likelihood=Likelihood("exact", "pixel levels"),
    tasks=(Task.SAMPLE, Task.TRAIN, Task.SCORE),
    lab=True,
    trains_on=("digits", "shapes"),
    presets="engine.models.pixelcnn.training:PIXELCNN_PRESETS",
)
