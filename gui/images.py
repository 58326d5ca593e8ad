"""numpy uint8 RGB (or RGBA) arrays <-> QImage. GUI thread only."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be freed afterwards).

    H x W x 4 arrays keep their alpha (an upscaled PNG with transparency)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, channels = rgb.shape
    pixel_format = QImage.Format.Format_RGBA8888 if channels == 4 else QImage.Format.Format_RGB888
    image = QImage(rgb.data, width, height, channels * width, pixel_format)
    return image.copy()
