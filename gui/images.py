"""numpy uint8 RGB arrays <-> QImage, and image grids. GUI thread only."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be freed afterwards)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()


GAP_GRAY = 0x1B  # the canvas background, so the gaps read as space, not as image


def image_grid(images: list[np.ndarray], gap: int | None = None) -> np.ndarray:
    """Tile same-sized HxWx3 images into a near-square grid, row by row.

    The default gap is 1/32 of an image's width (at least one pixel).
    """
    if len(images) == 1:
        return images[0]
    height, width = images[0].shape[:2]
    gap = max(1, width // 32) if gap is None else gap
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    shape = (rows * height + (rows - 1) * gap, cols * width + (cols - 1) * gap, 3)
    grid = np.full(shape, GAP_GRAY, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        y, x = r * (height + gap), c * (width + gap)
        grid[y : y + height, x : x + width] = image[:height, :width]
    return grid
