"""The ControlNet preprocessors that need no weights (issue 22), each against an oracle
computed here: OpenCV's own Canny, the DoG / XDoG formulas with scipy's Gaussian, a colour
grid by hand, PIL's resizes, scipy's blur; and the annotator preprocessors' sentence."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy.ndimage import binary_dilation, gaussian_filter

from engine.api.errors import BadInput
from engine.api.image_parts import CONTROL_PREPROCESSORS
from engine.library.annotators import ANNOTATORS, annotator_problem
from engine.models.sd.control.preprocessors import PREPROCESSORS, preprocess
from engine.models.sd.control.resample import inpaint_condition

WEIGHTLESS = [n for n in CONTROL_PREPROCESSORS if n not in ANNOTATORS]


def picture(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """Shapes with edges and a little noise: something every filter has work on."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width]
    rgb = np.zeros((height, width, 3), np.float64)
    rgb[..., 0] = 200 * (
        (x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(height, width) / 3) ** 2
    )
    rgb[..., 1] = 255 * x / max(1, width - 1)
    rgb[..., 2] = 180 * ((x // 16 + y // 16) % 2)
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, rounded as OpenCV rounds it (to within a level)."""
    return (rgb.astype(np.float64) @ [0.299, 0.587, 0.114]).round()


def test_every_weightless_preprocessor_is_registered():
    assert set(WEIGHTLESS) <= set(PREPROCESSORS)
    assert set(CONTROL_PREPROCESSORS) == set(PREPROCESSORS) | set(ANNOTATORS)


@pytest.mark.parametrize("name", WEIGHTLESS)
def test_each_keeps_the_size_and_gives_uint8_rgb(name):
    rgb = picture(70, 90)
    mask = np.zeros((70, 90), np.uint8)
    mask[10:30, 20:50] = 255
    out = preprocess(name, rgb, {}, mask=mask)
    assert out.shape == (70, 90, 3)
    assert out.dtype == np.uint8


@pytest.mark.parametrize(("low", "high"), [(100, 200), (20, 60), (150, 250)])
def test_canny_is_opencvs_on_the_grey_picture(low, high):
    rgb = picture()
    expected = cv2.Canny(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), low, high)
    out = preprocess("canny", rgb, {"low": low, "high": high})
    assert out.shape == (*rgb.shape[:2], 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], expected)
    assert out.any()


def test_canny_defaults_are_sd_webui_controlnets():
    rgb = picture()
    np.testing.assert_array_equal(
        preprocess("canny", rgb, {})[..., 0],
        cv2.Canny(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 100, 200),
    )


def dog_here(rgb: np.ndarray, sigma: float, tau: float = 1.0) -> np.ndarray:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) / 255.0
    return gaussian_filter(g, sigma) - tau * gaussian_filter(g, 1.6 * sigma)


@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.5])
def test_softedge_is_the_difference_of_gaussians(sigma):
    rgb = picture()
    d = np.maximum(np.abs(dog_here(rgb, sigma)) - 1e-3, 0)
    expected = 255 * np.sqrt(d / d.max())
    out = preprocess("softedge", rgb, {"sigma": sigma})
    assert np.abs(out[..., 0] - expected).max() <= 3
    assert (out[..., 0] == out[..., 2]).all()


def test_softedge_of_a_flat_picture_is_black():
    assert not preprocess("softedge", np.full((20, 30, 3), 90, np.uint8), {}).any()


@pytest.mark.parametrize(
    ("sigma", "tau", "epsilon", "phi"), [(0.8, 0.98, -0.005, 200), (1.5, 0.95, 0.0, 50)]
)
def test_lineart_is_xdog_inverted(sigma, tau, epsilon, phi):
    rgb = picture()
    d = dog_here(rgb, sigma, tau)
    lines = np.where(d >= epsilon, 1.0, 1.0 + np.tanh(phi * (d - epsilon)))
    expected = 255 * (1 - lines)
    out = preprocess("lineart", rgb, {"sigma": sigma, "tau": tau, "epsilon": epsilon, "phi": phi})
    assert np.abs(out[..., 0].astype(float) - expected).max() <= 6
    assert np.abs(out[..., 0].astype(float) - expected).mean() <= 0.2


def test_lineart_draws_white_lines_on_black():
    rgb = np.full((64, 64, 3), 255, np.uint8)
    rgb[:, 30:34] = 0  # a black bar on white: lines along its sides
    out = preprocess("lineart", rgb, {})[..., 0]
    assert out[:, :20].max() == 0 and out[:, 44:].max() == 0
    assert out[:, 26:38].max() == 255


def disk_here(radius: int) -> np.ndarray:
    return np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius


@pytest.mark.parametrize("thickness", [0, 1, 3])
def test_scribble_thresholds_and_grows_dark_strokes_on_a_light_page(thickness):
    rgb = np.full((50, 60, 3), 240, np.uint8)
    rgb[10, 5:50] = 20  # a pen line
    rgb[20:40, 30] = 100  # a pencil line, darker than the threshold
    rgb[45, 5:50] = 200  # too light to be a stroke
    strokes = luma(rgb) < 127
    expected = binary_dilation(strokes, disk_here(thickness)) if thickness else strokes
    out = preprocess("scribble", rgb, {"thickness": thickness})
    np.testing.assert_array_equal(out[..., 1] == 255, expected)
    assert set(np.unique(out)) <= {0, 255}


def test_scribble_takes_light_strokes_on_a_dark_page():
    rgb = np.zeros((30, 30, 3), np.uint8)
    rgb[15, 3:27] = 255
    out = preprocess("scribble", rgb, {"thickness": 2})[..., 0]
    assert out[15, 15] == 255 and out[13, 15] == 255 and out[12, 15] == 0 and out[0, 0] == 0


def test_color_grid_is_each_cells_average():
    rgb = picture(128, 192, seed=3)
    out = preprocess("color", rgb, {})
    for row in range(2):
        for column in range(3):
            cell = rgb[row * 64 : (row + 1) * 64, column * 64 : (column + 1) * 64].reshape(-1, 3)
            mean = cell.mean(axis=0)
            got = out[row * 64 : (row + 1) * 64, column * 64 : (column + 1) * 64].reshape(-1, 3)
            assert (got == got[0]).all()  # flat
            assert np.abs(got[0] - mean).max() <= 0.51 + 1e-9


def test_color_grid_of_a_small_picture_by_hand():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:2, :2] = (10, 20, 30)
    rgb[:2, 2:] = (50, 60, 70)
    rgb[2:, :2] = (0, 0, 200)
    rgb[2:, 2:] = (255, 255, 255)
    np.testing.assert_array_equal(preprocess("color", rgb, {"cell": 2}), rgb)
    whole = preprocess("color", rgb, {"cell": 4})
    mean = np.array([79, 84, 139], np.uint8)  # red: (10 + 50 + 0 + 255) / 4 = 78.75, ...
    np.testing.assert_array_equal(whole, np.broadcast_to(mean, rgb.shape))


def test_shuffle_is_the_same_for_a_seed_and_another_for_another():
    rgb = picture(200, 300)
    first = preprocess("shuffle", rgb, {"seed": 7})
    np.testing.assert_array_equal(first, preprocess("shuffle", rgb, {"seed": 7}))
    assert (first != preprocess("shuffle", rgb, {"seed": 8})).mean() > 0.5
    assert (first != rgb).mean() > 0.5


def test_shuffle_keeps_the_colours_not_the_layout():
    quadrants = np.zeros((256, 256, 3), np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    for i, colour in enumerate(colours):
        quadrants[(i // 2) * 128 : (i // 2 + 1) * 128, (i % 2) * 128 : (i % 2 + 1) * 128] = colour
    for seed in range(3):
        out = preprocess("shuffle", quadrants, {"seed": seed, "scale": 64}).reshape(-1, 3)
        # Nearly every pixel is one of the four colours (the rest blend two at a border)...
        exact = np.zeros(len(out), bool)
        shares = []
        for colour in colours:
            hit = (out == colour).all(axis=1)
            exact |= hit
            shares.append(hit.mean())
        assert exact.mean() > 0.9
        # ...each of them is still there, and the mean colour is within a tolerance.
        assert min(shares) > 0.03
        assert np.abs(out.mean(axis=0) - quadrants.reshape(-1, 3).mean(axis=0)).max() < 60


@pytest.mark.parametrize("rate", [2, 3.5, 8])
def test_tile_is_pils_box_down_and_bicubic_up(rate):
    rgb = picture(100, 140)
    small = Image.fromarray(rgb).resize(
        (round(140 / rate), round(100 / rate)), Image.Resampling.BOX
    )
    expected = np.asarray(small.resize((140, 100), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(preprocess("tile", rgb, {"rate": rate}), expected)


def test_tile_at_rate_one_keeps_the_picture():
    rgb = picture()
    np.testing.assert_array_equal(preprocess("tile", rgb, {}), rgb)


@pytest.mark.parametrize("sigma", [1.0, 3.0, 9.0])
def test_blur_is_scipys_gaussian(sigma):
    rgb = picture(80, 120)
    expected = np.stack(
        [gaussian_filter(rgb[..., c].astype(float), sigma) for c in range(3)], axis=2
    )
    out = preprocess("blur", rgb, {"sigma": sigma}).astype(float)
    assert np.abs(out - expected).max() <= 1.0


def test_blur_of_a_picture_narrower_than_its_kernel_is_scipys():
    rgb = picture(3, 40)
    expected = np.stack([gaussian_filter(rgb[..., c].astype(float), 9.0) for c in range(3)], axis=2)
    assert np.abs(preprocess("blur", rgb, {}).astype(float) - expected).max() <= 1.0


@pytest.mark.parametrize("kind", ["uint8", "bool", "float"])
def test_inpaint_marks_exactly_the_masked_pixels(kind):
    rgb = np.clip(picture(), 1, 255)  # no black pixel of its own
    region = np.zeros(rgb.shape[:2], bool)
    region[20:50, 30:90] = True
    region[70, 5] = True
    mask = {"uint8": region.astype(np.uint8) * 255, "bool": region, "float": region * 0.9}[kind]
    out = preprocess("inpaint", rgb, {}, mask=mask)
    np.testing.assert_array_equal((out == 0).all(axis=2), region)
    np.testing.assert_array_equal(out[~region], rgb[~region])
    condition = inpaint_condition(rgb, mask)
    assert (condition[region] == -1).all()
    np.testing.assert_allclose(condition[~region], rgb[~region] / 255.0, rtol=1e-6)


def test_inpaint_without_a_mask_or_with_another_size_says_so():
    with pytest.raises(BadInput, match="needs a mask"):
        preprocess("inpaint", picture(), {})
    with pytest.raises(BadInput, match="same size"):
        preprocess("inpaint", picture(), {}, mask=np.zeros((10, 10), np.uint8))


@settings(max_examples=25, deadline=None)
@given(
    height=st.sampled_from([1, 2, 3, 7, 63, 65]),
    width=st.sampled_from([1, 3, 5, 64, 129, 1000]),
    name=st.sampled_from(WEIGHTLESS),
    seed=st.integers(0, 3),
)
def test_odd_sizes_do_not_break_any_preprocessor(height, width, name, seed):
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[: max(1, height // 2)] = 255
    out = preprocess(name, rgb, {"rate": 4, "seed": seed}, mask=mask)
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


@pytest.mark.parametrize(("height", "width"), [(1, 1), (3, 1000), (1000, 3)])
@pytest.mark.parametrize("name", WEIGHTLESS)
def test_the_extreme_sizes(name, height, width):
    rgb = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = preprocess(name, rgb, {"rate": 8}, mask=np.zeros((height, width), bool))
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("name", sorted(ANNOTATORS))
def test_an_annotator_preprocessor_alone_is_the_sentence_naming_its_file(name):
    with pytest.raises(BadInput) as raised:
        preprocess(name, picture(), {})
    assert ANNOTATORS[name].first.file in str(raised.value) and '"none"' in str(raised.value)


def test_weightless_preprocessors_need_no_annotator():
    assert all(annotator_problem(name, []) is None for name in WEIGHTLESS)


def test_an_unknown_preprocessor_lists_the_known_ones():
    with pytest.raises(BadInput, match="canny.*depth"):
        preprocess("hed", picture(), {})
