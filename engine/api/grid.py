"""Tiling same-sized images into one grid image (numpy only): the Lab's sample sheets,
the canvas's batch view, and the grids the gallery keeps with their seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GAP_GRAY = 0x1B  # the canvas background, so the gaps read as space, not as image


@dataclass(frozen=True)
class GridLayout:
    columns: int
    rows: int
    cell_width: int
    cell_height: int
    gap: int

    @classmethod
    def for_images(cls, count: int, width: int, height: int, gap: int | None = None) -> GridLayout:
        """A near-square layout, row by row; the default gap is 1/32 of a cell (>= 1 px)."""
        columns = math.ceil(math.sqrt(count))
        rows = math.ceil(count / columns)
        return cls(columns, rows, width, height, default_gap(width) if gap is None else gap)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the whole grid."""
        width = self.columns * self.cell_width + (self.columns - 1) * self.gap
        height = self.rows * self.cell_height + (self.rows - 1) * self.gap
        return width, height

    def cell_at(self, index: int) -> tuple[int, int]:
        """(x, y) of the top-left pixel of cell `index`."""
        row, column = divmod(index, self.columns)
        return column * (self.cell_width + self.gap), row * (self.cell_height + self.gap)

    def to_dict(self) -> dict[str, int]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "cell_width": self.cell_width,
            "cell_height": self.cell_height,
            "gap": self.gap,
        }


def default_gap(width: int) -> int:
    """1/32 of a cell's width, at least one pixel."""
    return max(1, width // 32)


def image_grid(images: list[np.ndarray], gap: int | None = None) -> np.ndarray:
    """Tile same-sized H x W x 3 images into a near-square grid, row by row."""
    if len(images) == 1:
        return images[0]
    height, width = images[0].shape[:2]
    layout = GridLayout.for_images(len(images), width, height, gap)
    grid_width, grid_height = layout.size
    grid = np.full((grid_height, grid_width, 3), GAP_GRAY, np.uint8)
    for i, image in enumerate(images):
        x, y = layout.cell_at(i)
        grid[y : y + height, x : x + width] = image[:height, :width]
    return grid


def filmstrip(rows: list[list[np.ndarray]], gap: int | None = None) -> np.ndarray:
    """Rows of same-sized images, one row each (the diffusion view's x_t over x̂_0)."""
    height, width = rows[0][0].shape[:2]
    gap = default_gap(width) if gap is None else gap
    layout = GridLayout(max(len(r) for r in rows), len(rows), width, height, gap)
    grid_width, grid_height = layout.size
    strip = np.full((grid_height, grid_width, 3), GAP_GRAY, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            x, y = layout.cell_at(r * layout.columns + c)
            strip[y : y + height, x : x + width] = image[:height, :width]
    return strip
