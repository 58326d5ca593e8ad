"""Preprocessors: a picture in, the control map a ControlNet was trained on out.

Each is a function of an RGB uint8 array (H x W x 3) and the unit's settings, returning
an RGB uint8 array of the same size, found by name in PREPROCESSORS (the names are
engine.api.image_parts.CONTROL_PREPROCESSORS). Classic filters (filters.py, resample.py):
no torch, no weights. depth, openpose and segmentation run an annotator network from the
unit's annotator file (annotators.py, called by guided.control_map); here they are only
the sentence that says which file is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from engine.api.errors import BadInput
from engine.library.annotators import ANNOTATORS, missing_sentence
from engine.models.sd.control import filters, resample

Preprocessor = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]


def _none(rgb: np.ndarray, _settings: Mapping[str, float]) -> np.ndarray:
    """The picture already is a map (a depth map, a pose skeleton made elsewhere)."""
    return rgb


def _invert(rgb: np.ndarray, _settings: Mapping[str, float]) -> np.ndarray:
    """Black lines on white (a drawing) become the white-on-black maps line models take."""
    return 255 - rgb


def _needs_mask(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """The registry's inpaint entry: without a mask it says one is needed."""
    return resample.inpaint(rgb, settings, None)


PREPROCESSORS: dict[str, Preprocessor] = {
    "none": _none,
    "invert": _invert,
    "canny": filters.canny,
    "softedge": filters.softedge,
    "lineart": filters.lineart,
    "scribble": filters.scribble,
    "color": resample.color,
    "shuffle": resample.shuffle,
    "tile": resample.tile,
    "blur": resample.blur,
    "inpaint": _needs_mask,
}


def preprocess(
    name: str,
    rgb: np.ndarray,
    settings: Mapping[str, float],
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """The control map of `rgb` by the preprocessor `name`.

    `mask` (H x W, uint8 with 255 or bool/float with True/1 for the pixels to repaint) is
    for "inpaint" only: settings hold numbers, so the request's mask comes this way.
    The annotator preprocessors need their file: here, they say which one."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if name == "inpaint":
        return resample.inpaint(rgb, settings, mask)
    if name in ANNOTATORS:
        raise BadInput(missing_sentence(name))
    try:
        run = PREPROCESSORS[name]
    except KeyError:
        raise BadInput(
            f"The preprocessor {name!r} is not in this version. Choose one of: "
            f"{', '.join([*PREPROCESSORS, *ANNOTATORS])}."
        ) from None
    return run(rgb, settings)
