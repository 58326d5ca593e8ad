"""Tiled inference for any image size, without seams.

The image is cut into tiles that overlap by `overlap` input pixels. Each tile goes through
the model alone; the outputs are blended with weights that ramp linearly across the middle
half of each overlap. The outer quarter of a tile's overlap, where the model saw the tile's
edge instead of the image around it, gets (almost) no weight, and the sum is divided out,
so a flat area stays exactly flat and no seam shows (A1111 tiles with 8 px of overlap,
which shows seams on models with a wide receptive field; ComfyUI feathers 32 px).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

# Input pixels two neighbouring tiles share. The margin that gets weight 0 is a quarter
# of it: more than the receptive field's reach of a Compact or SPAN model's errors.
DEFAULT_OVERLAP = 32
CPU_TILE = 256  # input pixels a side: a 256 x 256 tile of an x4 ESRGAN needs about 2 GB


@dataclass(frozen=True)
class Span:
    """One tile's extent along one axis, in input pixels."""

    start: int
    stop: int


def spans(length: int, tile: int, overlap: int) -> list[Span]:
    """As few tiles as cover [0, length) with at least `overlap` shared between
    neighbours, spread evenly (so no tile is a thin sliver the model sees too little of)."""
    if tile <= 0 or tile >= length:
        return [Span(0, length)]
    overlap = min(overlap, tile // 4)  # small tiles: a quarter, or they mostly overlap
    count = math.ceil((length - overlap) / (tile - overlap))
    starts = [round(i * (length - tile) / (count - 1)) for i in range(count)]
    return [Span(s, s + tile) for s in starts]


def ramp(length: int, lead: int, trail: int, device, dtype) -> torch.Tensor:
    """Weights along one axis of a tile's output: rising over the middle half of the
    `lead` pixels it shares with the tile before it, falling over the `trail` pixels it
    shares with the tile after it, 1 elsewhere. Never exactly 0, so that every output
    pixel has some weight even where three tiles meet."""
    weights = torch.ones(length, device=device, dtype=dtype)
    position = torch.arange(length, device=device, dtype=dtype) + 0.5
    if lead:
        margin = lead / 4
        weights = torch.minimum(weights, ((position - margin) / (lead - 2 * margin)).clamp(0, 1))
    if trail:
        margin = trail / 4
        from_end = length - position
        weights = torch.minimum(weights, ((from_end - margin) / (trail - 2 * margin)).clamp(0, 1))
    return weights.clamp_min(1e-4)


def tile_count(height: int, width: int, tile: int, overlap: int = DEFAULT_OVERLAP) -> int:
    return len(spans(height, tile, overlap)) * len(spans(width, tile, overlap))


def upscale_tiled(
    model: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    scale: int,
    tile: int,
    overlap: int = DEFAULT_OVERLAP,
    on_tile: Callable[[int, int], None] = lambda done, total: None,
) -> torch.Tensor:
    """`image` (1, C, H, W) in [0, 1] through `model` tile by tile; tile 0 = all at once.

    `on_tile(done, total)` is called after each tile (progress; it may raise to cancel).
    The blend is accumulated in fp32 whatever the model's dtype.
    """
    _, _, height, width = image.shape
    rows, cols = spans(height, tile, overlap), spans(width, tile, overlap)
    if len(rows) == len(cols) == 1:
        out = model(image)
        on_tile(1, 1)
        return out.float()
    out = torch.zeros(1, 3, height * scale, width * scale, device=image.device)
    weight_sum = torch.zeros(1, 1, height * scale, width * scale, device=image.device)
    total, done = len(rows) * len(cols), 0
    for i, row in enumerate(rows):
        lead_y = _shared(rows, i - 1, i) * scale
        trail_y = _shared(rows, i, i + 1) * scale
        wy = ramp((row.stop - row.start) * scale, lead_y, trail_y, image.device, torch.float32)
        for j, col in enumerate(cols):
            lead_x = _shared(cols, j - 1, j) * scale
            trail_x = _shared(cols, j, j + 1) * scale
            wx = ramp((col.stop - col.start) * scale, lead_x, trail_x, image.device, torch.float32)
            piece = model(image[:, :, row.start : row.stop, col.start : col.stop]).float()
            weight = wy[:, None] * wx[None, :]
            ys, xs = (
                slice(row.start * scale, row.stop * scale),
                slice(col.start * scale, col.stop * scale),
            )
            out[:, :, ys, xs] += piece * weight
            weight_sum[:, :, ys, xs] += weight
            done += 1
            on_tile(done, total)
    return out / weight_sum


def _shared(tiles: list[Span], first: int, second: int) -> int:
    """Input pixels tiles `first` and `second` share (0 past either end)."""
    if first < 0 or second >= len(tiles):
        return 0
    return max(0, tiles[first].stop - tiles[second].start)
