"""Mask preparation, crop regions, fills, outpaint canvases, colour match and composite
(engine/models/sd/masking.py), against their definitions and A1111's numbers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.models.sd import masking

SIDE = 48


def _rng_image(seed: int, height: int = SIDE, width: int = SIDE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _box_mask(x0: int, y0: int, x1: int, y1: int, side: int = SIDE) -> np.ndarray:
    mask = np.zeros((side, side), dtype=np.float32)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def _dilate_square(mask: np.ndarray, reach: int) -> np.ndarray:
    """An independent grow: every pixel within `reach` (Chebyshev) of a masked one."""
    out = mask > 0
    ys, xs = np.nonzero(out)
    grown = np.zeros_like(out)
    for y, x in zip(ys, xs, strict=True):
        grown[max(0, y - reach) : y + reach + 1, max(0, x - reach) : x + reach + 1] = True
    return grown


boxes = st.tuples(
    st.integers(0, SIDE - 2), st.integers(0, SIDE - 2), st.integers(1, 20), st.integers(1, 20)
).map(lambda b: (b[0], b[1], min(SIDE, b[0] + b[2]), min(SIDE, b[1] + b[3])))


def test_a1111_blur_kernel_is_cv2s():
    """A1111's kernel has 2 * int(2.5 * blur + 0.5) + 1 taps: the blur reaches that far
    and no further (an impulse spreads to exactly the reach)."""
    impulse = np.zeros((41, 41), dtype=np.float32)
    impulse[20, 20] = 1
    for blur in (1, 2, 4, 6):
        spread = masking.blur_mask(impulse, blur)
        reach = masking.blur_reach(blur)
        row = np.flatnonzero(spread[20] > 0)
        assert (row[0], row[-1]) == (20 - reach, 20 + reach)
        assert np.isclose(spread.sum(), 1.0, atol=1e-5)


def test_invert_grow_and_shrink():
    mask = _box_mask(10, 10, 20, 20)
    grown = masking.prepare_mask(mask, invert=False, grow=3, blur=0).sharp
    assert grown[7, 15] == 1 and grown[6, 15] == 0  # 3 px straight out
    shrunk = masking.prepare_mask(mask, invert=False, grow=-3, blur=0).sharp
    assert shrunk[13, 15] == 1 and shrunk[12, 15] == 0
    inverted = masking.prepare_mask(mask, invert=True, grow=0, blur=0)
    assert inverted.sharp[0, 0] == 1 and inverted.sharp[15, 15] == 0
    assert masking.prepare_mask(np.zeros((8, 8)), invert=False, grow=2, blur=4).empty


def test_soft_masks_keep_their_grey():
    ramp = np.tile(np.linspace(0, 255, SIDE).astype(np.uint8), (SIDE, 1))
    mask = masking.as_mask(ramp)
    assert mask.dtype == np.float32 and 0.4 < mask[0, SIDE // 2] < 0.6
    assert np.array_equal(masking.prepare_mask(mask, invert=False, grow=0, blur=0).soft, mask)
    rgba = np.dstack([ramp, ramp, ramp, np.full_like(ramp, 255)])
    assert np.allclose(masking.as_mask(rgba), mask)


@settings(max_examples=40, deadline=None)
@given(box=boxes, blur=st.integers(0, 6), grow=st.integers(-3, 3), seed=st.integers(0, 99))
def test_outside_the_grown_mask_the_composite_is_the_source(box, blur, grow, seed):
    source, result = _rng_image(seed), _rng_image(seed + 1)
    prepared = masking.prepare_mask(_box_mask(*box), invert=False, grow=grow, blur=blur)
    out = masking.composite(result, source, prepared.soft)
    outside = ~_dilate_square(prepared.sharp, masking.blur_reach(blur))
    assert np.array_equal(out[outside], source[outside])
    inside = prepared.soft >= 1.0
    assert np.array_equal(out[inside], result[inside])


@settings(max_examples=40, deadline=None)
@given(box=boxes, padding=st.integers(0, 40))
def test_crop_region_is_a1111s(box, padding):
    x0, y0, x1, y1 = box
    region = masking.crop_region(_box_mask(*box), padding)
    assert region == (
        max(0, x0 - padding),
        max(0, y0 - padding),
        min(SIDE, x1 + padding),
        min(SIDE, y1 + padding),
    )


@settings(max_examples=60, deadline=None)
@given(box=boxes, aspect=st.sampled_from([(512, 512), (768, 512), (512, 768)]))
def test_expanded_region_holds_the_box_at_the_output_aspect(box, aspect):
    image = (1024, 1024)
    region = masking.expand_to_aspect(box, aspect, image)
    x0, y0, x1, y1 = region
    assert x0 <= box[0] and y0 <= box[1] and x1 >= box[2] and y1 >= box[3]
    assert 0 <= x0 < x1 <= image[0] and 0 <= y0 < y1 <= image[1]
    width, height, ratio = x1 - x0, y1 - y0, aspect[0] / aspect[1]
    assert abs(width - height * ratio) <= 1 or abs(height - width / ratio) <= 1  # rounding


def test_fill_paints_the_hole_from_its_surroundings():
    source = np.zeros((SIDE, SIDE, 3), dtype=np.uint8)
    source[:, : SIDE // 2] = (200, 0, 0)
    source[:, SIDE // 2 :] = (0, 0, 200)
    mask = _box_mask(16, 16, 32, 32)
    filled = masking.fill_masked(source, mask)
    assert np.array_equal(filled[mask == 0], source[mask == 0])
    assert filled[24, 17, 0] > filled[24, 17, 2]  # red near the red side
    assert filled[24, 30, 2] > filled[24, 30, 0]  # blue near the blue side
    no_hole = masking.fill_masked(source, np.zeros((SIDE, SIDE)))
    assert np.array_equal(no_hole, source)


@settings(max_examples=30, deadline=None)
@given(
    sides=st.tuples(*[st.integers(0, 24)] * 4).filter(any),
    fill=st.sampled_from(["edge", "mirror", "noise"]),
    feather=st.integers(0, 12),
)
def test_outpaint_keeps_the_original_and_masks_the_new_area(sides, fill, feather):
    source = _rng_image(3, 32, 40)
    canvas, mask = masking.extend_canvas(source, sides, fill, feather, seed=5)
    left, top, right, bottom = sides
    assert canvas.shape == (32 + top + bottom, 40 + left + right, 3) == mask.shape + (3,)
    original = (slice(top, top + 32), slice(left, left + 40))
    assert np.array_equal(canvas[original], source)
    new = np.ones(mask.shape, bool)
    new[original] = False
    assert (mask[new] == 1).all()
    # The original minus the feather band along each extended side is not repainted.
    keep = np.zeros((32, 40), bool)
    keep[
        feather if top else 0 : 32 - (feather if bottom else 0),
        feather if left else 0 : 40 - (feather if right else 0),
    ] = True
    assert (mask[original][keep] == 0).all()
    if feather:
        band = mask[original][~keep]
        assert (band > 0).all() and (band < 1).all()


def test_edge_and_mirror_fills_continue_the_border():
    source = _rng_image(4, 16, 16)
    edge, _ = masking.extend_canvas(source, (4, 0, 0, 0), "edge", 0)
    assert np.array_equal(edge[:, 0], source[:, 0])
    mirror, _ = masking.extend_canvas(source, (0, 0, 4, 0), "mirror", 0)
    assert mirror.shape == (16, 20, 3)


def test_colour_match_takes_away_a_drift_the_ring_shows():
    source = np.full((SIDE, SIDE, 3), (120, 140, 90), dtype=np.uint8)
    source = np.clip(source + _rng_image(6).astype(int) // 16, 0, 255).astype(np.uint8)
    drifted = np.clip(source.astype(int) + (30, -20, 10), 0, 255).astype(np.uint8)
    mask = _box_mask(16, 16, 32, 32)
    matched = masking.match_colours(drifted, source, mask)
    inside = mask > 0
    before = np.abs(drifted[inside].astype(int) - source[inside]).mean()
    after = np.abs(matched[inside].astype(int) - source[inside]).mean()
    assert after < before / 4
    assert np.array_equal(matched[~inside], drifted[~inside])


def test_lab_round_trip():
    pixels = _rng_image(7)
    assert np.abs(masking.lab_to_rgb(masking.rgb_to_lab(pixels)).astype(int) - pixels).max() <= 1
