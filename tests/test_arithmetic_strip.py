"""Latent arithmetic's strip reads as the sum it is: A − B + C = result, the signs drawn
in the gaps between the four pictures (it was four pictures in a row, unlabelled)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import ArithmeticRequest
from engine.context import JobContext


def run(runtime, request, job: int = 1):
    return runtime.run(request, JobContext(job))


def sign_in(gap: np.ndarray) -> str:
    """Read a gap as a person would: light strokes on the dark gap; one bar is −, a bar
    crossed by an upright is +, two bars are =."""
    light = (gap >= 0x80).all(axis=2)
    rows = light.any(axis=1)
    runs = int(rows[0]) + int(np.count_nonzero(rows[1:] & ~rows[:-1]))
    if not light.any():
        return ""
    upright = light.sum(axis=0).max() > light.sum(axis=1).max() // 2 + 1
    if runs == 2 and not upright:
        return "="
    if runs == 1:
        return "+" if upright and rows.sum() >= 3 else "−"
    return "?"


@pytest.mark.parametrize(
    "model", [ModelRef(Family.GAN, "gan-shapes"), ModelRef(Family.VAE, "vae-digits")]
)
def test_the_strip_shows_a_minus_b_plus_c_equals_the_result(cpu_runtime, model):
    request = ArithmeticRequest(model=model, a=1, b=2, c=3, save=False)
    [strip] = run(cpu_runtime, request).images
    pictures = [i.rgb for i in run(cpu_runtime, ArithmeticRequest(
        model=model, a=1, b=2, c=3, grid=False, save=False), 2).images]  # fmt: skip
    grid = strip.info["grid"]
    width, height, gap = grid["cell_width"], grid["cell_height"], grid["gap"]
    assert (grid["columns"], grid["rows"]) == (4, 1) and gap >= 5
    assert strip.rgb.shape[:2] == (height, 4 * width + 3 * gap)
    starts = [i * (width + gap) for i in range(4)]
    # The pictures are where the recipe says, untouched by the signs.
    for x, picture in zip(starts, pictures, strict=True):
        assert np.array_equal(strip.rgb[:, x : x + width], picture)
    signs = [sign_in(strip.rgb[:, x + width : x + width + gap]) for x in starts[:3]]
    assert signs == ["−", "+", "="]
    assert strip.info["operands"] == ["A", "B", "C", "A − B + C"]
