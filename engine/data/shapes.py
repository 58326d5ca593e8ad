"""Shapes: a procedural data set of coloured shapes with known factors, like dSprites.

Every image is one shape (square, circle, triangle or heart) on a white background at
32 x 32, drawn from six factors: kind, x, y, scale, rotation and hue. The factors of
every image are known, so a regressor can read them back from samples (the quality
meter) and latent directions can be matched to them (the Lab's sliders). It is
infinite: `batch` draws fresh factors from a seeded generator, then renders them.
Shapes are drawn with signed distance functions and a one-pixel antialiased edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("square", "circle", "triangle", "heart")
SIZE = 32
SCALE_RANGE = (0.35, 0.8)  # of the half-width of the image
MARGIN = 0.15  # the centre keeps this far (in half-widths) from the border


@dataclass(frozen=True)
class Factors:
    """Per image: kind index, centre x/y in [-1, 1], scale, rotation (radians), hue [0, 1)."""

    kind: np.ndarray
    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    rotation: np.ndarray
    hue: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)


def random_factors(count: int, rng: np.random.Generator) -> Factors:
    scale = rng.uniform(*SCALE_RANGE, count)
    reach = 1.0 - MARGIN - scale * 0.7
    return Factors(
        kind=rng.integers(0, len(KINDS), count),
        x=rng.uniform(-1, 1, count) * reach,
        y=rng.uniform(-1, 1, count) * reach,
        scale=scale,
        rotation=rng.uniform(0, 2 * np.pi, count),
        hue=rng.uniform(0, 1, count),
    )


def render(factors: Factors, size: int = SIZE) -> np.ndarray:
    """N x size x size x 3 float32 in [0, 1]: each shape in its hue on white."""
    n = len(factors)
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    gy, gx = np.meshgrid(coords, coords, indexing="ij")
    # Into each shape's frame: translate, rotate, scale.
    dx = gx[None] - factors.x[:, None, None]
    dy = gy[None] - factors.y[:, None, None]
    cos, sin = np.cos(factors.rotation)[:, None, None], np.sin(factors.rotation)[:, None, None]
    u = (cos * dx + sin * dy) / factors.scale[:, None, None]
    v = (-sin * dx + cos * dy) / factors.scale[:, None, None]
    distance = np.empty((n, size, size), np.float32)
    for k, sdf in enumerate((_square, _circle, _triangle, _heart)):
        chosen = factors.kind == k
        if chosen.any():
            distance[chosen] = sdf(u[chosen], v[chosen])
    pixel = 2.0 / size / factors.scale[:, None, None]  # one pixel in shape units
    coverage = np.clip(0.5 - distance / pixel, 0.0, 1.0)[..., None]
    colour = hue_to_rgb(factors.hue)[:, None, None, :]
    return (1.0 - coverage + coverage * colour).astype(np.float32)


def hue_to_rgb(hue: np.ndarray, saturation: float = 0.85, value: float = 0.9) -> np.ndarray:
    """N x 3: fully saturated-ish colours around the hue circle (HSV to RGB)."""
    h = (hue % 1.0) * 6.0
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p = value * (1 - saturation)
    q = value * (1 - saturation * f)
    t = value * (1 - saturation * (1 - f))
    v = np.full_like(h, value)
    table = [
        (v, t, np.full_like(h, p)),
        (q, v, np.full_like(h, p)),
        (np.full_like(h, p), v, t),
        (np.full_like(h, p), q, v),
        (t, np.full_like(h, p), v),
        (v, np.full_like(h, p), q),
    ]
    rgb = np.zeros((len(h), 3))
    for k, (r, g, b) in enumerate(table):
        rows = i == k
        rgb[rows] = np.stack([r[rows], g[rows], b[rows]], 1)
    return rgb


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    half = 0.8
    qx, qy = np.abs(u) - half, np.abs(v) - half
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.hypot(u, v) - 0.9


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # An equilateral triangle of circumradius ~1, pointing up (v grows downwards).
    k = np.sqrt(3.0)
    x, y = np.abs(u) - 0.95, -v + 0.95 / k
    flip = x + k * y > 0
    x, y = np.where(flip, (x - k * y) / 2, x), np.where(flip, (-k * x - y) / 2, y)
    x = x - np.clip(x, -1.9, 0.0)
    return -np.hypot(x, y) * np.sign(y)


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # The implicit heart curve (x^2 + y^2 - 1)^3 - x^2 y^3, made distance-like by scaling.
    x, y = u * 1.15, -(v * 1.15 - 0.2)
    f = (x * x + y * y - 1.0) ** 3 - x * x * y**3
    return np.cbrt(f) * 0.55


class ShapesData:
    """Fresh shapes for every batch, reproducible from a seed."""

    name = "shapes"

    def __init__(self, seed: int = 0, size: int = SIZE) -> None:
        self.rng = np.random.default_rng(seed)
        self.size = size

    def batch(self, count: int) -> tuple[np.ndarray, Factors]:
        factors = random_factors(count, self.rng)
        return render(factors, self.size), factors
