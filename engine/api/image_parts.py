"""The optional parts of a Stable Diffusion request, as krita-ai-diffusion's WorkflowInput.

One Txt2ImgRequest says everything: with no part it is text to image; a SourceImage
makes it image to image, a Mask on it inpainting, ControlUnits guide it, and Hires
draws it again larger. Each part checks its own data (pure: no file is opened); the
images and models they name are looked at by the engine (engine.local_checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef

# Which part of the source a mask repaints: the white (masked) part, or the rest.
MASK_MODES = ("masked", "unmasked")


def _require(model: ModelRef, family: Family, what: str) -> None:
    model.check()  # first: a family this version does not have gets its own sentence
    if model.family is not family:
        raise BadInput(f"{what} must be {title_of(family)}, not {title_of(model.family)}.")


@dataclass(frozen=True)
class SourceImage:
    """The image to start from: `strength` 0 keeps it, 1 draws over it entirely."""

    image: ImageRef
    strength: float = 0.75

    def check(self) -> None:
        self.image.check("The source image")
        limits.SOURCE_STRENGTH.check(self.strength)


@dataclass(frozen=True)
class Mask:
    """Where the source is repainted (white), its edge softened by `blur` pixels."""

    image: ImageRef
    blur: int = 4
    mode: str = "masked"

    def check(self) -> None:
        self.image.check("The mask")
        limits.MASK_BLUR.check(self.blur)
        if self.mode not in MASK_MODES:
            raise BadInput(f"Mask mode {self.mode!r} is not one of: {', '.join(MASK_MODES)}.")


@dataclass(frozen=True)
class ControlUnit:
    """A ControlNet guiding the image from `start` to `end` (fractions of the steps)."""

    model: ModelRef
    image: ImageRef
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0

    def check(self) -> None:
        _require(self.model, Family.SD, "A control unit's model")
        self.image.check("A control unit's image")
        limits.CONTROL_WEIGHT.check(self.weight)
        limits.CONTROL_SPAN.check(self.start)
        limits.CONTROL_SPAN.check(self.end)
        if self.start >= self.end:
            raise BadInput(
                f"A control unit starts at {self.start:g} and ends at {self.end:g}: "
                "it must start before it ends."
            )


@dataclass(frozen=True)
class Hires:
    """A second pass: the image enlarged `scale` times by `upscaler`, then denoised
    `denoise` of the way in `steps` steps (0: as many as the first pass)."""

    scale: float = 2.0
    steps: int = 0
    denoise: float = 0.5
    upscaler: ModelRef = ModelRef(Family.UPSCALE, "lanczos")

    def check(self) -> None:
        limits.HIRES_SCALE.check(self.scale)
        limits.HIRES_STEPS.check(self.steps)
        limits.HIRES_DENOISE.check(self.denoise)
        _require(self.upscaler, Family.UPSCALE, "The hires upscaler")
