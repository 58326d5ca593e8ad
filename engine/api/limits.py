"""The one source of numeric limits: request validation and widget ranges both read these."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from engine.api.errors import BadInput


@dataclass(frozen=True)
class Limit:
    """An inclusive range with the words a message needs."""

    name: str
    low: int | float
    high: int | float

    def check(self, value: int | float) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise BadInput(f"{self.name} must be a finite number (got {value}).")
        if not self.low <= value <= self.high:
            raise BadInput(f"{self.name} must be between {self.low} and {self.high} (got {value}).")


SIZE_MULTIPLE = 8  # VAE latents are 1/8 of the image side

SEED = Limit("Seed", 0, 2**32 - 1)
SD_SIDE = Limit("Width and height", SIZE_MULTIPLE, 4096)
SD_STEPS = Limit("Steps", 1, 1000)
SD_BATCH = Limit("Batch size", 1, 16)
CFG_SCALE = Limit("CFG scale", 0.0, 30.0)
CLIP_SKIP = Limit("Clip skip", 1, 12)
VARIATION_STRENGTH = Limit("Variation strength", 0.0, 1.0)
LORA_WEIGHT = Limit("A LoRA's weight", -10.0, 10.0)
LORAS = Limit("The number of LoRAs", 0, 16)
EMBEDDINGS = Limit("The number of embeddings", 0, 32)
SAMPLE_COUNT = Limit("Count", 1, 256)
DIFFUSION_STEPS = Limit("Denoising steps", 1, 1000)
GUIDANCE = Limit("Guidance scale", 0.0, 20.0)
ETA = Limit("Eta", 0.0, 1.0)
SCORE_SAMPLES = Limit("Samples to measure", 10, 5000)
LATENT_VECTORS = Limit("Number of latent vectors", 1, 256)
LATENT_VALUE = Limit("Latent values", -1e3, 1e3)
INTERPOLATION_FRAMES = Limit("Frames", 2, 256)
FORWARD_STEP = Limit("The step t", 0, 100_000)  # each model checks its own T
DATA_INDEX = Limit("The data set image's number", 0, 100_000)
COMPLETIONS = Limit("Completions of an image", 1, 8)
GIBBS_STEPS = Limit("Gibbs steps", 1, 20_000)  # an RBM's chain: its samples and Explore
DRAWING_FRAMES = 64  # at most this many frames of a sample drawn pixel by pixel
FILMSTRIP_COLUMNS = Limit("Filmstrip columns", 2, 100)
TRAIN_STEPS = Limit("Training steps", 1, 10_000_000)
TRAIN_BATCH = Limit("Training batch size", 1, 4096)
LEARNING_RATE = Limit("Learning rate", 1e-8, 1.0)
UPSCALE_FACTOR = Limit("Upscale factor", 1.0, 16.0)
UPSCALE_TILE = Limit("Tile size", 32, 4096)
# The optional parts of a Stable Diffusion request (engine.api.image_parts).
SOURCE_STRENGTH = Limit("Strength", 0.0, 1.0)
MASK_BLUR = Limit("Mask blur", 0, 256)
CONTROL_UNITS = Limit("The number of control units", 0, 8)
CONTROL_WEIGHT = Limit("A control unit's weight", 0.0, 2.0)
CONTROL_SPAN = Limit("A control unit's start and end", 0.0, 1.0)
CONTROL_SETTING = Limit("A preprocessor setting", -1e4, 1e4)
IP_ADAPTERS = Limit("The number of IP-Adapters", 0, 4)
IP_ADAPTER_WEIGHT = Limit("An IP-Adapter's weight", 0.0, 2.0)
HIRES_SCALE = Limit("Hires scale", 1.0, 4.0)
HIRES_STEPS = Limit("Hires steps", 0, 1000)  # 0: as many as the first pass
HIRES_DENOISE = Limit("Hires denoising strength", 0.0, 1.0)
MASK_GROW = Limit("Mask grow/shrink", -256, 256)  # pixels; negative shrinks
MASK_PADDING = Limit("Only masked padding", 0, 1024)
OUTPAINT_SIDE = Limit("Outpaint extension", 0, 2048)  # pixels added on one side
OUTPAINT_FEATHER = Limit("Outpaint overlap", 0, 256)
# Images larger than this many pixels are refused unless the user confirms: a PNG header
# can claim 30000 x 30000 (a decompression bomb) in a file of a few hundred bytes.
UPSCALE_MAX_INPUT_PIXELS = 40_000_000
# A Stable Diffusion source is resized to the output size (at most SD_SIDE a side), so a
# larger one is only memory spent: refused with a sentence before its pixels are decoded.
SD_SOURCE_MAX_PIXELS = 4096 * 4096


def nearest_multiple(value: int, multiple: int = SIZE_MULTIPLE) -> int:
    """The closest multiple, halves rounding up (500 -> 504), never below one multiple."""
    return max(multiple, (value + multiple // 2) // multiple * multiple)


def random_seed() -> int:
    return random.randint(int(SEED.low), int(SEED.high))
