"""The optional parts of a Stable Diffusion request, as krita-ai-diffusion's WorkflowInput.

One Txt2ImgRequest says everything: with no part it is text to image; a SourceImage
makes it image to image, a Mask on it inpainting, an Outpaint extends it, ControlUnits
guide it, and Hires draws it again larger. Each part checks its own data (pure: no file
is opened); the images and models they name are looked at by the engine
(engine.local_checks). The option names and meanings are A1111's, so that its users and
its PNG `parameters` text map one to one.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef, check_text

# Which part of the source a mask repaints: the white (masked) part, or the rest
# (A1111's "Mask mode": inpaint masked / inpaint not masked).
MASK_MODES = ("masked", "unmasked")
# A1111's "Resize mode" when the source is not the output size.
RESIZE_MODES = ("just-resize", "crop-and-resize", "resize-and-fill")
# A1111's "Masked content": what the masked area starts from before denoising.
MASKED_CONTENTS = ("original", "fill", "latent-noise", "latent-nothing")
# A1111's "Inpaint area": the whole picture at the output size, or only the masked
# part's bounding box (plus padding) cropped, drawn at the output size, pasted back.
INPAINT_AREAS = ("whole", "masked")
# How an outpaint fills the new area before it is inpainted.
OUTPAINT_FILLS = ("edge", "mirror", "noise")
# The hires upscaler that resizes the latents themselves (A1111's "Latent"), beside the
# upscale family's models and resamplers.
LATENT_UPSCALER = "latent"


def _require(model: ModelRef, family: Family, what: str) -> None:
    model.check()  # first: a family this version does not have gets its own sentence
    if model.family is not family:
        raise BadInput(f"{what} must be {title_of(family)}, not {title_of(model.family)}.")


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise BadInput(f"{what} {value!r} is not one of: {', '.join(allowed)}.")


@dataclass(frozen=True)
class SourceImage:
    """The image to start from: `strength` 0 keeps it, 1 draws over it entirely. When it
    is not the request's size it is resized as `resize_mode` says."""

    image: ImageRef
    strength: float = 0.75
    resize_mode: str = "just-resize"

    def check(self) -> None:
        self.image.check("The source image")
        limits.SOURCE_STRENGTH.check(self.strength)
        _one_of(self.resize_mode, RESIZE_MODES, "Resize mode")


@dataclass(frozen=True)
class Mask:
    """Where the source is repainted (white; grey is partly), as A1111's inpaint options.

    `blur` softens the edge by that many pixels, `grow` dilates (or, negative, erodes)
    the mask first. `content` is what the masked area starts from, `area` whether the
    whole picture or only the masked part (with `padding` pixels around it) is drawn.
    `colour_match` matches the repainted part's colours to its surroundings. `composite`
    pastes the source back through the blurred mask, so pixels outside it stay exactly
    the source's (off only to compare with a bare diffusers call).
    """

    image: ImageRef
    blur: int = 4
    mode: str = "masked"
    content: str = "original"
    area: str = "whole"
    padding: int = 32
    grow: int = 0
    colour_match: bool = False
    composite: bool = True

    def check(self) -> None:
        self.image.check("The mask")
        limits.MASK_BLUR.check(self.blur)
        limits.MASK_GROW.check(self.grow)
        limits.MASK_PADDING.check(self.padding)
        _one_of(self.mode, MASK_MODES, "Mask mode")
        _one_of(self.content, MASKED_CONTENTS, "Masked content")
        _one_of(self.area, INPAINT_AREAS, "Inpaint area")


@dataclass(frozen=True)
class Outpaint:
    """Extend the source by so many pixels on each side; the new area is filled as
    `fill` says and inpainted, overlapping the original by `feather` pixels (a soft
    seam). The original area outside the overlap is unchanged."""

    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0
    fill: str = "edge"
    feather: int = 32

    def check(self) -> None:
        for side in (self.left, self.top, self.right, self.bottom):
            limits.OUTPAINT_SIDE.check(side)
        if not (self.left or self.top or self.right or self.bottom):
            raise BadInput("Outpaint extends the image: give at least one side more than 0 px.")
        limits.OUTPAINT_FEATHER.check(self.feather)
        _one_of(self.fill, OUTPAINT_FILLS, "Outpaint fill")


# What a control unit does to its image before the ControlNet sees it (issue 22). "none":
# the image already is a map (a depth map, a pose skeleton made elsewhere). The first
# group needs no weights; the last needs an annotator file in a models folder.
CONTROL_PREPROCESSORS = (
    "none",
    "invert",
    "canny",
    "softedge",
    "lineart",
    "scribble",
    "color",
    "shuffle",
    "tile",
    "blur",
    "inpaint",
    "depth",
    "openpose",
    "segmentation",
)
# sd-webui-controlnet's "Control Mode": Balanced / My prompt is more important /
# ControlNet is more important.
CONTROL_MODES = ("balanced", "prompt", "control")


@dataclass(frozen=True)
class ControlUnit:
    """A ControlNet (or T2I-Adapter: the model file says which) guiding the image from
    `start` to `end` (fractions of the steps). `preprocessor` makes the map from `image`
    with its `settings` (name, value pairs: canny's thresholds…); `resize_mode` fits the
    image to the output as the source's does; `mode` is sd-webui-controlnet's control
    mode."""

    model: ModelRef
    image: ImageRef
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    preprocessor: str = "none"
    settings: tuple[tuple[str, float], ...] = ()
    mode: str = "balanced"
    resize_mode: str = "crop-and-resize"
    # The annotator network's file for the preprocessors that need one (depth, openpose,
    # segmentation): found in the user's folders by engine.library.annotators, so the
    # recipe names the very file that made the map.
    annotator: ModelRef | None = None

    def setting(self, name: str, default: float) -> float:
        return dict(self.settings).get(name, default)

    def check(self) -> None:
        _require(self.model, Family.SD, "A control unit's model")
        self.check_map()
        limits.CONTROL_WEIGHT.check(self.weight)
        limits.CONTROL_SPAN.check(self.start)
        limits.CONTROL_SPAN.check(self.end)
        if self.start >= self.end:
            raise BadInput(
                f"A control unit starts at {self.start:g} and ends at {self.end:g}: "
                "it must start before it ends."
            )
        _one_of(self.mode, CONTROL_MODES, "Control mode")

    def check_map(self) -> None:
        """What making the unit's map needs (its image, preprocessor, settings and resize
        mode): a map can be shown before the unit has a model."""
        self.image.check("A control unit's image")
        _one_of(self.preprocessor, CONTROL_PREPROCESSORS, "Preprocessor")
        _one_of(self.resize_mode, RESIZE_MODES, "A control unit's resize mode")
        if self.annotator is not None:
            _require(self.annotator, Family.SD, "A control unit's annotator")
        for name, value in self.settings:
            check_text(name, "A preprocessor setting's name")
            limits.CONTROL_SETTING.check(value)


@dataclass(frozen=True)
class IpAdapter:
    """An IP-Adapter: the picture `image` guides the style/content at `weight`. The CLIP
    vision encoder it needs is found beside it or in the models folders."""

    model: ModelRef
    image: ImageRef
    weight: float = 1.0

    def check(self) -> None:
        _require(self.model, Family.SD, "An IP-Adapter's model")
        self.image.check("An IP-Adapter's image")
        limits.IP_ADAPTER_WEIGHT.check(self.weight)


@dataclass(frozen=True)
class Hires:
    """A second pass: the image enlarged `scale` times by `upscaler` (a resampler, an
    upscaler model, or LATENT_UPSCALER), then denoised `denoise` of the way in `steps`
    steps (0: as many as the first pass)."""

    scale: float = 2.0
    steps: int = 0
    denoise: float = 0.5
    upscaler: ModelRef = ModelRef(Family.UPSCALE, "lanczos")

    @property
    def in_latent_space(self) -> bool:
        return self.upscaler.id == LATENT_UPSCALER

    def check(self) -> None:
        limits.HIRES_SCALE.check(self.scale)
        limits.HIRES_STEPS.check(self.steps)
        limits.HIRES_DENOISE.check(self.denoise)
        _require(self.upscaler, Family.UPSCALE, "The hires upscaler")
