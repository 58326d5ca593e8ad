"""Preprocessors: a picture in, the control map a ControlNet was trained on out.

Each is a function of an RGB uint8 array (H x W x 3) and the unit's settings, returning
an RGB uint8 array of the same size, found by name in PREPROCESSORS (the names are
engine.api.image_parts.CONTROL_PREPROCESSORS). Pure numpy: no torch, no weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from engine.api.errors import BadInput

Preprocessor = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]


def _none(rgb: np.ndarray, _settings: Mapping[str, float]) -> np.ndarray:
    """The picture already is a map (a depth map, a pose skeleton made elsewhere)."""
    return rgb


def _invert(rgb: np.ndarray, _settings: Mapping[str, float]) -> np.ndarray:
    """Black lines on white (a drawing) become the white-on-black maps line models take."""
    return 255 - rgb


PREPROCESSORS: dict[str, Preprocessor] = {"none": _none, "invert": _invert}


def preprocess(name: str, rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """The control map of `rgb` by the preprocessor `name`."""
    try:
        run = PREPROCESSORS[name]
    except KeyError:
        raise BadInput(
            f"The preprocessor {name!r} is not in this version. Choose one of: "
            f"{', '.join(PREPROCESSORS)}."
        ) from None
    return run(np.ascontiguousarray(rgb, dtype=np.uint8), settings)
