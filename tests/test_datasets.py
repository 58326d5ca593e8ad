"""The Latent Lab's training data from a folder of the user's images (the built-in data
sets: test_builtin_datasets).

Every check here has an oracle of its own: a literal value or Pillow's own conversion of
a pixel. Folder images are made in tmp_path with Pillow: every odd mode, broken files,
tiny and one-image sets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput
from engine.data.folder import MIN_IMAGES, load_folder
from engine.train.datasets import open_dataset
from tests.user_folders import add_unreadable_files, is_sentence, snapshot

WHITE = np.ones(3)


def fill(folder: Path, count: int, colour=(90, 160, 40), size=(20, 20)) -> None:
    """`count` plain RGB images named to sort after any "a-…" test image."""
    for i in range(count):
        Image.new("RGB", size, colour).save(folder / f"z-filler-{i:02d}.png")


def first_image(folder: Path, side: int = 32) -> tuple[np.ndarray, str]:
    """Open `folder` as a data set; the first image (files load in sorted order) as C x H x W."""
    data = open_dataset(str(folder), side)
    images = data.images.numpy()
    assert images.dtype == np.float32 and images.shape[1:] == (3, side, side)
    assert images.min() >= 0.0 and images.max() <= 1.0 and np.isfinite(images).all()
    return images[0], data.info.note


def pillow_rgb(mode: str, value) -> np.ndarray:
    """Pillow's own conversion of one pixel of `mode` to RGB, in [0, 1]: the oracle."""
    return np.asarray(Image.new(mode, (1, 1), value).convert("RGB"), np.float64)[0, 0] / 255


# ------------------------------------------------------------------ a user's folder


def test_empty_folder_is_refused_with_a_sentence_saying_what_to_add(tmp_path):
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 32)
    message = caught.value.message
    assert str(tmp_path) in message and "found 0 usable images" in message
    assert f"at least {MIN_IMAGES}" in message and "add more" in message
    assert is_sentence(message)


def test_folder_of_only_corrupt_and_non_image_files_is_refused_and_names_them(tmp_path):
    add_unreadable_files(tmp_path).unlink()  # no usable image is left
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 32)
    message = caught.value.message
    assert "found 0 usable images" in message and "4 skipped" in message
    assert "notes.txt: not a jpg, png or webp" in message
    assert "cut.jpg: cannot be read" in message and "fake.png: cannot be read" in message
    assert is_sentence(message)


def test_corrupt_and_non_image_files_are_skipped_counted_and_reported(tmp_path):
    add_unreadable_files(tmp_path)
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: ignored, not counted
    fill(tmp_path, MIN_IMAGES - 1)
    data = open_dataset(str(tmp_path), 16)
    assert data.info.count == MIN_IMAGES == len(data.images)  # 15 fillers + whole.jpg
    note = data.info.note
    assert note.startswith(f"{MIN_IMAGES} images") and "4 skipped" in note
    assert "cannot be read" in note and "not a jpg, png or webp" in note
    assert ".DS_Store" not in note
    assert data.images.shape == (MIN_IMAGES, 3, 16, 16)


def test_one_image_data_set_is_refused_with_what_it_needs(tmp_path):
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "only.png")
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 32)
    message = caught.value.message
    assert "found 1 usable image," in message and f"at least {MIN_IMAGES}" in message
    assert is_sentence(message)


def test_one_short_of_the_minimum_is_refused_and_the_minimum_is_accepted(tmp_path):
    fill(tmp_path, MIN_IMAGES - 1)
    with pytest.raises(BadInput):
        open_dataset(str(tmp_path), 32)
    fill(tmp_path, MIN_IMAGES)
    assert open_dataset(str(tmp_path), 32).info.count == MIN_IMAGES


def test_grey_image_becomes_three_equal_channels_of_the_same_value(tmp_path):
    Image.new("L", (24, 24), 100).save(tmp_path / "a-grey.png")
    fill(tmp_path, MIN_IMAGES - 1)
    image, _note = first_image(tmp_path)
    np.testing.assert_allclose(image, np.full((3, 32, 32), 100 / 255), atol=1 / 255)


def test_grey_is_kept_as_one_channel_when_asked(tmp_path):
    Image.new("RGB", (24, 24), (255, 0, 0)).save(tmp_path / "a-red.png")
    fill(tmp_path, MIN_IMAGES - 1)
    images, report, _fingerprint = load_folder(tmp_path, 32, grey=True)
    assert images.shape == (MIN_IMAGES, 1, 32, 32) and images.dtype == np.float32
    luma = np.asarray(Image.new("RGB", (1, 1), (255, 0, 0)).convert("L"))[0, 0] / 255
    np.testing.assert_allclose(images[0], luma, atol=1 / 255)
    assert report.used == MIN_IMAGES


def test_grey_with_alpha_is_laid_on_white(tmp_path):
    grey_alpha = Image.new("LA", (24, 24), (0, 255))  # opaque black…
    grey_alpha.paste((0, 0), (0, 0, 24, 12))  # …under a fully transparent top half
    grey_alpha.save(tmp_path / "a-grey-alpha.png")
    fill(tmp_path, MIN_IMAGES - 1)
    image, note = first_image(tmp_path)
    np.testing.assert_allclose(image[:, :12].mean((1, 2)), WHITE, atol=0.02)
    np.testing.assert_allclose(image[:, 20:].mean((1, 2)), 0.0, atol=0.02)
    assert "converted to RGB: 1 LA" in note


def test_rgba_transparent_pixels_become_the_white_background(tmp_path):
    rgba = Image.new("RGBA", (24, 24), (0, 0, 255, 0))  # blue, but fully transparent
    rgba.paste((255, 0, 0, 255), (0, 12, 24, 24))  # an opaque red bottom half
    rgba.save(tmp_path / "a-rgba.png")
    Image.new("RGBA", (24, 24), (0, 0, 0, 128)).save(tmp_path / "b-half.png")
    fill(tmp_path, MIN_IMAGES - 2)
    data = open_dataset(str(tmp_path), 32)
    image, half = data.images.numpy()[:2]
    np.testing.assert_allclose(image[:, 2:12].mean((1, 2)), WHITE, atol=0.02)  # not blue
    np.testing.assert_allclose(image[:, 20:30].mean((1, 2)), [1, 0, 0], atol=0.02)
    # Half-transparent black over white is mid grey: 255 * (1 - 128/255).
    np.testing.assert_allclose(half.mean((1, 2)), 127 / 255, atol=0.01)
    assert "converted to RGB: 2 RGBA" in data.info.note


def test_palette_images_keep_their_colours_and_a_transparent_index_becomes_white(tmp_path):
    palette = [255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6)  # 0: red, 1: blue
    plain = Image.new("P", (24, 24), 0)
    plain.putpalette(palette)
    plain.save(tmp_path / "a-palette.png")
    keyed = Image.new("P", (24, 24), 1)
    keyed.putpalette(palette)
    keyed.paste(0, (0, 0, 24, 12))  # top half index 0, made transparent below
    keyed.save(tmp_path / "b-palette-clear.png", transparency=0)
    fill(tmp_path, MIN_IMAGES - 2)
    data = open_dataset(str(tmp_path), 32)
    red, clear = data.images.numpy()[:2]
    np.testing.assert_allclose(red.mean((1, 2)), pillow_rgb("RGB", (255, 0, 0)), atol=0.01)
    np.testing.assert_allclose(clear[:, 2:12].mean((1, 2)), WHITE, atol=0.02)
    np.testing.assert_allclose(clear[:, 20:30].mean((1, 2)), [0, 0, 1], atol=0.02)
    assert "converted to RGB: 2 P" in data.info.note


def test_rgb_with_a_transparent_colour_key_is_laid_on_white(tmp_path):
    keyed = Image.new("RGB", (24, 24), (0, 0, 0))
    keyed.paste((0, 128, 0), (0, 12, 24, 24))
    keyed.save(tmp_path / "a-keyed.png", transparency=(0, 0, 0))  # black is transparent
    fill(tmp_path, MIN_IMAGES - 1)
    image, _note = first_image(tmp_path)
    np.testing.assert_allclose(image[:, 2:12].mean((1, 2)), WHITE, atol=0.02)
    np.testing.assert_allclose(image[:, 20:30].mean((1, 2)), [0, 128 / 255, 0], atol=0.02)


def test_sixteen_bit_images_are_scaled_from_65535_not_clipped_or_stretched(tmp_path):
    Image.fromarray(np.full((24, 24), 65535, np.uint16)).save(tmp_path / "a-white16.png")
    Image.fromarray(np.full((24, 24), 32768, np.uint16)).save(tmp_path / "b-mid16.png")
    Image.fromarray(np.full((24, 24), 4096, np.uint16)).save(tmp_path / "c-dark16.png")
    Image.fromarray(np.zeros((24, 24), np.uint16)).save(tmp_path / "d-black16.png")
    assert Image.open(tmp_path / "b-mid16.png").mode.startswith("I")  # really 16-bit
    fill(tmp_path, MIN_IMAGES - 4)
    data = open_dataset(str(tmp_path), 32)
    white, mid, dark, black = data.images.numpy()[:4]
    np.testing.assert_allclose(white, 1.0, atol=1 / 255)  # 65535 is white, not garbage
    np.testing.assert_allclose(mid, 32768 / 65535, atol=1 / 255)  # mid grey stays mid
    np.testing.assert_allclose(dark, 4096 / 65535, atol=1 / 255)  # dark is not stretched
    np.testing.assert_allclose(black, 0.0, atol=1 / 255)
    assert "converted to RGB: 4 I;16" in data.info.note


def test_cmyk_image_is_converted_to_its_rgb_colour(tmp_path):
    Image.new("CMYK", (24, 24), (255, 0, 0, 0)).save(tmp_path / "a-cyan.jpg", quality=95)
    fill(tmp_path, MIN_IMAGES - 1)
    image, note = first_image(tmp_path)
    oracle = pillow_rgb("CMYK", (255, 0, 0, 0))
    np.testing.assert_allclose(oracle, [0, 1, 1], atol=0.01)  # pure cyan, by Pillow
    np.testing.assert_allclose(image.mean((1, 2)), oracle, atol=0.04)
    assert "converted to RGB: 1 CMYK" in note


def test_image_smaller_than_the_target_is_enlarged_and_reported(tmp_path):
    Image.new("RGB", (5, 7), (30, 60, 220)).save(tmp_path / "a-tiny.png")
    fill(tmp_path, MIN_IMAGES - 1, size=(64, 64))
    data = open_dataset(str(tmp_path), 64)
    tiny = data.images.numpy()[0]
    assert tiny.shape == (3, 64, 64)
    np.testing.assert_allclose(tiny.mean((1, 2)), np.array([30, 60, 220]) / 255, atol=0.01)
    assert "1 smaller than the training size, enlarged" in data.info.note


def test_every_training_side_gives_that_size_and_another_is_refused(tmp_path):
    Image.new("RGB", (50, 40), (10, 20, 30)).save(tmp_path / "a-odd.png")
    fill(tmp_path, MIN_IMAGES - 1, size=(33, 71))
    for side in (16, 32, 64):
        images = open_dataset(str(tmp_path), side).images
        assert tuple(images.shape) == (MIN_IMAGES, 3, side, side)
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 48)
    assert "48" in caught.value.message and is_sentence(caught.value.message)


def test_centre_crop_keeps_the_centre_of_wide_and_tall_images(tmp_path):
    wide = Image.new("RGB", (96, 32), (0, 0, 255))  # blue edges…
    wide.paste((255, 0, 0), (32, 0, 64, 32))  # …and a red centre square
    wide.save(tmp_path / "a-wide.png")
    tall = Image.new("RGB", (32, 96), (0, 0, 255))
    tall.paste((255, 0, 0), (0, 32, 32, 64))
    tall.save(tmp_path / "b-tall.png")
    fill(tmp_path, MIN_IMAGES - 2)
    data = open_dataset(str(tmp_path), 32)
    for image in data.images.numpy()[:2]:
        red, _green, blue = image.mean((1, 2))
        assert red > 0.95 and blue < 0.05  # the blue edges were cropped away


def test_exif_rotation_is_honoured(tmp_path):
    image = Image.new("RGB", (40, 40), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 40, 20))  # stored: red on top
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: shown turned 90° clockwise, so red on the right
    image.save(tmp_path / "a-turned.jpg", exif=exif, quality=95)
    fill(tmp_path, MIN_IMAGES - 1)
    shown, _note = first_image(tmp_path)
    assert shown[0, :, 20:].mean() > 0.9 and shown[2, :, 20:].mean() < 0.1  # right: red
    assert shown[0, :, :12].mean() < 0.1 and shown[2, :, :12].mean() > 0.9  # left: blue


def test_the_input_folder_is_never_modified(tmp_path):
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGBA", (30, 50), (9, 9, 9, 0)).save(folder / "clear.png")
    Image.new("CMYK", (40, 20), (0, 255, 0, 0)).save(folder / "magenta.jpg")
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(folder / "sub" / "deep.png")
    Image.new("RGB", (3, 3), (1, 2, 3)).save(folder / "sub" / "tiny.webp")
    (folder / "notes.txt").write_text("keep me")
    (folder / "fake.png").write_text("not a png")
    (folder / ".hidden.png").write_bytes(b"\x89PNG")
    fill(folder, MIN_IMAGES)
    before = snapshot(folder)
    data = open_dataset(str(folder), 32)
    assert data.info.count == MIN_IMAGES + 4
    with pytest.raises(BadInput):  # a refused folder is only read too
        open_dataset(str(folder / "sub"), 32)
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing written beside


def test_fingerprint_follows_the_pixels(tmp_path):
    fill(tmp_path, MIN_IMAGES)
    first = open_dataset(str(tmp_path), 32).info.fingerprint
    assert open_dataset(str(tmp_path), 32).info.fingerprint == first
    Image.new("RGB", (20, 20), (1, 2, 3)).save(tmp_path / "z-filler-00.png")
    assert open_dataset(str(tmp_path), 32).info.fingerprint != first


def test_a_file_is_not_a_folder_of_images(tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(photo)
    with pytest.raises(BadInput) as caught:
        open_dataset(str(photo), 32)
    assert "not a folder" in caught.value.message and is_sentence(caught.value.message)
