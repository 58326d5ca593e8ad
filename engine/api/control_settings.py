"""The settings each control preprocessor takes (issue 22), shared by Create's control
section, `generate --control` and the A1111 text: their names, labels, defaults and
ranges. Pure data: the preprocessors themselves are engine/models/sd/control's.

sd-webui-controlnet shows at most two settings per preprocessor ("Threshold A" and
"Threshold B"); the first two here are written and read as those, in this order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PreprocessorSetting:
    name: str  # as in ControlUnit.settings and `generate --control …,NAME=VALUE`
    label: str
    default: float
    low: float
    high: float
    step: float = 1.0

    @property
    def decimals(self) -> int:
        return 0 if float(self.step).is_integer() else 2


PREPROCESSOR_SETTINGS: dict[str, tuple[PreprocessorSetting, ...]] = {
    "canny": (
        PreprocessorSetting("low", "Low threshold", 100, 1, 255),
        PreprocessorSetting("high", "High threshold", 200, 1, 255),
    ),
    "softedge": (PreprocessorSetting("sigma", "Sigma", 1.4, 0.1, 10.0, 0.1),),
    "lineart": (PreprocessorSetting("sigma", "Sigma", 0.8, 0.1, 10.0, 0.1),),
    "scribble": (PreprocessorSetting("thickness", "Line thickness", 3, 1, 32),),
    "color": (PreprocessorSetting("cell", "Cell size", 64, 4, 256),),
    "tile": (PreprocessorSetting("down", "Down-sampling", 1, 1, 8),),
    "blur": (PreprocessorSetting("sigma", "Sigma", 4.0, 0.1, 64.0, 0.1),),
}

# What the preprocessor picker shows.
PREPROCESSOR_TITLES = {
    "none": "None (the image is a map)",
    "invert": "Invert (black lines on white)",
    "canny": "Canny edges",
    "softedge": "Soft edges",
    "lineart": "Line art",
    "scribble": "Scribble",
    "color": "Colour grid",
    "shuffle": "Shuffle",
    "tile": "Tile (resample)",
    "blur": "Blur",
    "inpaint": "Inpaint (masked image)",
    "depth": "Depth (Depth Anything V2)",
    "openpose": "OpenPose (body)",
    "segmentation": "Segmentation (ADE20K)",
}


def settings_of(preprocessor: str) -> tuple[PreprocessorSetting, ...]:
    return PREPROCESSOR_SETTINGS.get(preprocessor, ())


def full_settings(
    preprocessor: str, given: dict[str, float] | None = None
) -> tuple[tuple[str, float], ...]:
    """The preprocessor's settings as ControlUnit.settings: each by name, the given value
    or the default."""
    given = given or {}
    return tuple((s.name, float(given.get(s.name, s.default))) for s in settings_of(preprocessor))
