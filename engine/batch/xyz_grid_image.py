"""An X/Y/Z plot's grid picture: the cells in columns (X) and rows (Y), one such grid
per Z value side by side, labelled as A1111 labels them: the X values above the
columns, the Y values left of the rows, the Z value above each grid.

Drawn with Pillow's own default font (bundled with Pillow: nothing is downloaded), black
on white. Every tile is as large as the largest cell (a Size axis); a smaller cell sits
at its tile's top-left. `GridPicture.tiles` says where each cell's tile is, so a grid
can be cut back into its cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WHITE, BLACK = (255, 255, 255), (0, 0, 0)


@dataclass(frozen=True)
class GridLabels:
    columns: tuple[str, ...]  # one per X value ("" for a Nothing axis)
    rows: tuple[str, ...]  # one per Y value
    grids: tuple[str, ...]  # one per Z value


@dataclass(frozen=True)
class GridPicture:
    rgb: np.ndarray  # H x W x 3 uint8
    tiles: tuple[tuple[int, int], ...]  # (x, y) of cell i's tile, in grid order
    tile_size: tuple[int, int]  # (width, height) of every tile

    def to_dict(self) -> dict[str, object]:
        width, height = self.tile_size
        return {
            "tiles": [list(tile) for tile in self.tiles],
            "tile_width": width,
            "tile_height": height,
        }


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def font_size(tile_height: int) -> int:
    """A label's size: a sixteenth of a tile, read at any size (12 to 48 px)."""
    return max(12, min(48, tile_height // 16))


def _wrap(text: str, width: int, font) -> list[str]:
    """`text` in lines no wider than `width` where the words allow."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(f"{lines[-1]} {word}", font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _text_width(text: str, font) -> int:
    left, _top, right, _bottom = font.getbbox(text)
    return int(right - left)


def _line_height(font) -> int:
    _left, top, _right, bottom = font.getbbox("Ag")
    return int(bottom - top) + 4


def draw_grid(cells: list[np.ndarray], shape: tuple[int, int, int], labels: GridLabels | None):
    """The grid of `cells` (grid order: x fastest, then y, then z) of `shape` (columns,
    rows, grids); `labels` None: no legend."""
    nx, ny, nz = shape
    tile_w = max(cell.shape[1] for cell in cells)
    tile_h = max(cell.shape[0] for cell in cells)
    size = font_size(tile_h)
    font = _font(size)
    pad = size // 2
    line = _line_height(font)
    labels = labels or GridLabels(("",) * nx, ("",) * ny, ("",) * nz)
    column_lines = [_wrap(text, tile_w - pad, font) for text in labels.columns]
    left_width = max(tile_w, 128)  # A1111 gives row labels about a tile's width
    row_lines = [_wrap(text, left_width - 2 * pad, font) for text in labels.rows]
    grid_lines = [_wrap(text, nx * tile_w, font) for text in labels.grids]
    top = max(map(len, column_lines)) * line + 2 * pad if any(labels.columns) else 0
    title = max(map(len, grid_lines)) * line + 2 * pad if any(labels.grids) else 0
    left = left_width if any(labels.rows) else 0
    gap = pad * 2 if nz > 1 else 0
    block_w = left + nx * tile_w
    width = nz * block_w + (nz - 1) * gap
    height = title + top + ny * tile_h
    canvas = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(canvas)
    tiles = []
    for iz in range(nz):
        x0 = iz * (block_w + gap)
        _centred(draw, grid_lines[iz], x0 + left, 0, nx * tile_w, title, line, font)
        for ix in range(nx):
            x = x0 + left + ix * tile_w
            _centred(draw, column_lines[ix], x, title, tile_w, top, line, font)
        for iy in range(ny):
            y = title + top + iy * tile_h
            _centred(draw, row_lines[iy], x0, y, left, tile_h, line, font)
    for index, cell in enumerate(cells):
        ix, iy, iz = index % nx, index // nx % ny, index // (nx * ny)
        x = iz * (block_w + gap) + left + ix * tile_w
        y = title + top + iy * tile_h
        canvas.paste(Image.fromarray(np.ascontiguousarray(cell, np.uint8)), (x, y))
        tiles.append((x, y))
    return GridPicture(np.asarray(canvas), tuple(tiles), (tile_w, tile_h))


def _centred(draw, lines: list[str], x: int, y: int, width: int, height: int, line: int, font):
    """`lines` centred in the box (x, y, width, height)."""
    if not lines or width <= 0 or height <= 0:
        return
    top = y + (height - len(lines) * line) // 2
    for i, text in enumerate(lines):
        left = x + (width - _text_width(text, font)) // 2
        draw.text((left, top + i * line), text, fill=BLACK, font=font)
