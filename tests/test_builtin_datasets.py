"""The data sets that come with the app, opened by name: digits (paired with their labels),
emoji (the committed array) and the generated shapes (kinds, positions, hues, scales and
rotations as their factors say).

Each check has an oracle of its own: a property that must hold (centroids, areas,
symmetries, exact rotations), a literal value, numpy's own reading of a committed file,
hashlib or colorsys.
"""

from __future__ import annotations

import colorsys
import hashlib
import math

import numpy as np
import pytest

from engine.api.errors import BadInput
from engine.data.digits import DIGITS_PATH
from engine.data.emoji import EMOJI_PATH, load_emoji
from engine.data.folder import MIN_IMAGES
from engine.data.shapes import KINDS, Factors, ShapesData, render
from engine.train.datasets import open_dataset
from tests.test_datasets import fill
from tests.user_folders import is_sentence

# ------------------------------------------------------------------ open_dataset by name


def test_unknown_data_set_name_is_a_sentence_listing_the_choices(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput) as caught:
        open_dataset("mnist", 32)
    message = caught.value.message
    assert "'mnist'" in message and is_sentence(message)
    assert all(name in message for name in ("digits", "shapes", "emoji", "folder"))


def test_a_blank_data_set_name_does_not_train_on_the_working_folder(tmp_path, monkeypatch):
    fill(tmp_path, MIN_IMAGES)  # a trainable working folder: "" must not pick it up
    monkeypatch.chdir(tmp_path)
    for blank in ("", "   "):
        with pytest.raises(BadInput) as caught:
            open_dataset(blank, 32)
        assert "digits" in caught.value.message and is_sentence(caught.value.message)


def test_digits_keep_their_ten_labels_paired_with_their_images():
    with np.load(DIGITS_PATH) as raw:
        raw_images, raw_labels = raw["images"], raw["labels"]
    data = open_dataset("digits", seed=3)
    assert data.info.channels == 1 and data.info.size == 8 and data.info.num_classes == 10
    assert data.info.class_names == tuple("0123456789") and data.info.count == 1797
    assert tuple(data.images.shape) == (1797, 1, 8, 8) and data.images.dtype.is_floating_point
    assert float(data.images.min()) == 0.0 and float(data.images.max()) == 1.0
    assert sorted(set(data.labels.tolist())) == list(range(10))
    np.testing.assert_array_equal(data.labels.numpy(), raw_labels)
    assert data.info.fingerprint == hashlib.sha256(DIGITS_PATH.read_bytes()).hexdigest()
    # An epoch of batches serves every image once, each with its own label.
    served_labels, covered = [], set()
    for _ in range(3):
        images, labels = data.batch(599)
        pixels = np.rint(images.numpy()[:, 0] * 255).astype(np.uint8)
        for image, label in zip(pixels, labels.tolist(), strict=True):
            rows = np.flatnonzero((raw_images == image).all((1, 2)))
            assert label in raw_labels[rows]
            served_labels.append(label)
            covered.update(rows.tolist())
    assert len(served_labels) == 1797 and covered == set(range(1797))
    np.testing.assert_array_equal(np.bincount(served_labels), np.bincount(raw_labels))


def test_digits_refuse_another_size_with_a_sentence():
    with pytest.raises(BadInput) as caught:
        open_dataset("digits", 32)
    assert "8×8" in caught.value.message and is_sentence(caught.value.message)


# ------------------------------------------------------------------ emoji


def test_committed_emoji_array_shape_dtype_and_range():
    with np.load(EMOJI_PATH, allow_pickle=False) as raw:
        images, names = raw["images"], raw["names"]
    assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[1:] == (32, 32, 3)
    count = len(images)
    assert count > 1000 and len(names) == count and len(set(names.tolist())) == count
    assert images.min() == 0 and images.max() == 255
    flat = images.reshape(count, -1)
    assert len(np.unique(flat, axis=0)) == count  # every drawing differs
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]].astype(np.float64) / 255
    assert corners.mean() > 0.95  # centred on white
    loaded, labels = load_emoji()
    assert loaded.shape == (count, 3, 32, 32) and loaded.dtype == np.float32 and len(labels) == 0
    np.testing.assert_allclose(loaded[7, :, 4, 9], images[7, 4, 9] / 255, atol=1e-6)


def test_emoji_through_open_dataset_at_its_size_and_smaller():
    with np.load(EMOJI_PATH, allow_pickle=False) as raw:
        count = len(raw["images"])
    for size in (32, 16):
        data = open_dataset("emoji", size, seed=1)
        assert tuple(data.images.shape) == (count, 3, size, size) and data.labels is None
        assert data.info.count == count and data.info.channels == 3
        assert float(data.images.min()) >= 0.0 and float(data.images.max()) <= 1.0
        assert data.info.fingerprint == hashlib.sha256(EMOJI_PATH.read_bytes()).hexdigest()
        images, labels = data.batch(8)
        assert tuple(images.shape) == (8, 3, size, size) and labels is None


# ------------------------------------------------------------------ shapes


def one_shape(kind: str, x=0.0, y=0.0, scale=0.6, rotation=0.0, hue=0.0) -> np.ndarray:
    """One image (32 x 32 x 3) of a shape with chosen factors."""

    def a(value: float) -> np.ndarray:
        return np.array([value], np.float64)

    factors = Factors(np.array([KINDS.index(kind)]), a(x), a(y), a(scale), a(rotation), a(hue))
    return render(factors)[0]


def coverage(images: np.ndarray) -> np.ndarray:
    """How much of each pixel the shape covers, 0..1, from its pixels alone."""
    ink = 1.0 - images.min(-1)  # the background is white: ink darkens some channel
    return ink / ink.max((-2, -1), keepdims=True)


def test_shapes_have_the_four_kinds_as_labels_in_a_batch():
    assert {"square", "circle", "triangle", "heart"} <= set(KINDS)
    source = open_dataset("shapes", 32, seed=0)
    assert source.info.num_classes == len(KINDS) >= 4 and source.info.class_names == KINDS
    assert source.info.count is None and source.info.channels == 3
    images, labels = source.batch(64)
    assert tuple(images.shape) == (64, 3, 32, 32) and images.dtype.is_floating_point
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert set(labels.tolist()) == set(range(len(KINDS)))


def test_shape_centroids_sit_at_their_x_y_factors():
    images, factors = ShapesData(seed=5).batch(200)
    cover = coverage(images)
    grid = (np.arange(32) + 0.5) / 32 * 2 - 1  # pixel centres in [-1, 1]
    mass = cover.sum((1, 2))
    cx = (cover * grid[None, None, :]).sum((1, 2)) / mass  # columns are x
    cy = (cover * grid[None, :, None]).sum((1, 2)) / mass  # rows are y (down)
    off = np.hypot(cx - factors.x, cy - factors.y)
    symmetric = factors.kind != KINDS.index("heart")  # a heart's centroid is off its centre
    assert off[symmetric].max() < 0.03  # under half a pixel (a pixel is 0.0625)
    assert (off[~symmetric] / factors.scale[~symmetric]).max() < 0.15


def test_shape_translation_moves_the_pixels_exactly():
    pixel = 2 / 32
    for kind in KINDS:
        centred = one_shape(kind, scale=0.4, rotation=0.3)
        moved = one_shape(kind, x=3 * pixel, y=-2 * pixel, scale=0.4, rotation=0.3)
        np.testing.assert_allclose(moved, np.roll(centred, (-2, 3), axis=(0, 1)), atol=1e-5)


def test_shape_hue_factor_is_the_hue_of_its_colour():
    images, factors = ShapesData(seed=9).batch(100)
    for image, hue in zip(images, factors.hue, strict=True):
        pixels = image.reshape(-1, 3)
        spread = pixels.max(1) - pixels.min(1)
        core = pixels[spread >= spread.max() - 0.01].mean(0)  # fully covered pixels
        h, s, _v = colorsys.rgb_to_hsv(*core)
        assert min(abs(h - hue), 1 - abs(h - hue)) < 0.01 and s > 0.5


def test_shape_area_grows_with_the_square_of_scale():
    # Areas as fractions of the image, from each shape's geometry at scale 1.
    expected = {
        "square": 1.6**2 / 4,  # half-width 0.8
        "circle": math.pi * 0.9**2 / 4,  # radius 0.9
        "triangle": math.sqrt(3) / 4 * 1.9**2 / 4,  # equilateral, side 1.9
    }
    images, factors = ShapesData(seed=2).batch(300)
    area = coverage(images).sum((1, 2)) / 32**2
    for kind in KINDS:
        chosen = factors.kind == KINDS.index(kind)
        ratio = area[chosen] / factors.scale[chosen] ** 2
        assert chosen.any() and ratio.std() / ratio.mean() < 0.05  # one constant per kind
        if kind in expected:
            assert abs(np.median(ratio) / expected[kind] - 1) < 0.03


def test_shape_kinds_look_like_their_names():
    def bbox_fill(cover: np.ndarray) -> float:
        inside = cover > 0.5
        rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(inside.any(0))
        box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
        return inside.sum() / box

    covers = {kind: coverage(one_shape(kind)) for kind in KINDS}
    assert bbox_fill(covers["square"]) > 0.95  # an upright square fills its box
    assert bbox_fill(coverage(one_shape("square", rotation=math.pi / 4))) < 0.6  # a diamond
    assert abs(bbox_fill(covers["circle"]) - math.pi / 4) < 0.06
    assert abs(bbox_fill(covers["triangle"]) - 0.5) < 0.06
    for kind, cover in covers.items():  # all upright shapes are mirror-symmetric
        np.testing.assert_allclose(cover, cover[:, ::-1], atol=1e-5, err_msg=kind)
    top, bottom = (lambda c: c[:16].sum()), (lambda c: c[16:].sum())
    assert top(covers["triangle"]) < 0.9 * bottom(covers["triangle"])  # points up
    assert top(covers["heart"]) > 1.1 * bottom(covers["heart"])  # lobes up, point down
    circle_turned = coverage(one_shape("circle", rotation=1.0))
    np.testing.assert_allclose(circle_turned, covers["circle"], atol=1e-4)
    kinds = list(covers.values())
    for i in range(len(kinds)):
        for j in range(i + 1, len(kinds)):
            assert np.abs(kinds[i] - kinds[j]).sum() > 10  # pixels' worth of difference


def test_shape_rotation_turns_the_pixels():
    for kind in ("triangle", "heart"):
        upright = one_shape(kind)
        half = one_shape(kind, rotation=math.pi)
        quarter = one_shape(kind, rotation=math.pi / 2)
        np.testing.assert_allclose(half, np.rot90(upright, 2), atol=1e-5)
        errors = [np.abs(quarter - np.rot90(upright, k)).max() for k in (1, 3)]
        assert min(errors) < 1e-5 and max(errors) > 0.1  # one quarter turn, not a symmetry


def test_shapes_same_seed_same_images_other_seed_other_images():
    a_images, a_labels = open_dataset("shapes", 32, seed=4).batch(16)
    b_images, b_labels = open_dataset("shapes", 32, seed=4).batch(16)
    c_images, _c_labels = open_dataset("shapes", 32, seed=5).batch(16)
    assert a_images.equal(b_images) and a_labels.equal(b_labels)
    assert (a_images - c_images).abs().amax((1, 2, 3)).min() > 0.1  # every image differs
    again, _ = open_dataset("shapes", 32, seed=4).batch(16)
    source = open_dataset("shapes", 32, seed=4)
    source.batch(16)
    later, _ = source.batch(16)
    assert again.equal(a_images) and not later.equal(a_images)  # batches are fresh draws


def test_shapes_at_sixteen_pixels():
    images, labels = open_dataset("shapes", 16, seed=0).batch(8)
    assert tuple(images.shape) == (8, 3, 16, 16) and len(labels) == 8
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
