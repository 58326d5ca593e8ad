"""Latent arithmetic's strip drawn as the sum it is: A − B + C = result.

The four pictures sit in one row as in any strip, but the gaps between them are wide
enough to hold the operators, drawn as pixel strokes (no font: a digits model's cells are
8 pixels high, and strokes stay sharp at any zoom). The layout is still a uniform grid
(one gap width), so the recipe's grid cuts the cells back out exactly as before.
"""

from __future__ import annotations

import numpy as np

from engine.api.grid import GAP_GRAY, GridLayout

OPERATORS = ("−", "+", "=")  # between A and B, B and C, C and the result
STROKE_GRAY = 0xC8  # light on the gap's dark grey, as the canvas's text is


def operator_gap(cell_width: int) -> int:
    """Half a cell, and at least 5 pixels: room for a 3-pixel sign and a margin."""
    return max(5, cell_width // 2)


def equation_strip(images: list[np.ndarray]) -> tuple[np.ndarray, GridLayout]:
    """(H x W x 3 strip of A, B, C and the result with −, + and = between, its layout)."""
    height, width = images[0].shape[:2]
    layout = GridLayout(len(images), 1, width, height, operator_gap(width))
    grid_width, grid_height = layout.size
    strip = np.full((grid_height, grid_width, 3), GAP_GRAY, np.uint8)
    for i, image in enumerate(images):
        x, _ = layout.cell_at(i)
        strip[:, x : x + width] = image[:height, :width]
        if 0 < i <= len(OPERATORS):
            _draw_sign(strip[:, x - layout.gap : x], OPERATORS[i - 1])
    return strip, layout


def _draw_sign(gap: np.ndarray, sign: str) -> None:
    """Draw −, + or = centred in `gap` (a view into the strip), one pixel from its sides."""
    height, width = gap.shape[:2]
    size = min(width - 2, height - 2)  # the sign's square
    thick = max(1, size // 6)
    left, middle = (width - size) // 2, height // 2
    bar = slice(left, left + size)

    def row(y: int) -> None:
        gap[y : y + thick, bar] = STROKE_GRAY

    if sign == "=":
        apart = max(1, size // 4)
        row(middle - apart - thick // 2)
        row(middle + apart - thick // 2 + (1 if apart == 1 else 0))
        return
    row(middle - thick // 2)
    if sign == "+":
        centre = left + size // 2 - thick // 2
        top = middle - size // 2
        gap[top : top + size, centre : centre + thick] = STROKE_GRAY
