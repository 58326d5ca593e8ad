"""Finishing a job's images: the sheet its outcome declares, then saving.

Oracles: sheets pasted with PIL from the layout a recipe promises (columns, rows, cell
size, gap), cells cut back out with numpy slicing, and a fake gallery that counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, ResultImage, Sheet
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.finishing import compose_sheet, finish_images
from engine.store import StoreError

GAP = (0x1B, 0x1B, 0x1B)  # the canvas background the gaps are painted with
MODEL = ModelRef(Family.VAE, "vae-digits")


def pictures(count: int, width: int = 32, height: int = 24) -> tuple[ResultImage, ...]:
    rng = np.random.default_rng(7)
    return tuple(
        ResultImage(
            rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
            seed=10 + i,
            index=i,
            info={"model": "m", "t": i / max(1, count - 1), "label": i % 3, "class_name": "c"},
        )
        for i in range(count)
    )


def pasted(images: tuple[ResultImage, ...], columns: int, gap: int) -> np.ndarray:
    """The sheet a person would make: cells row by row, `gap` pixels of GAP between."""
    width, height = images[0].width, images[0].height
    rows = -(-len(images) // columns)
    size = (columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap)
    sheet = Image.new("RGB", size, GAP)
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        sheet.paste(Image.fromarray(image.rgb), (column * (width + gap), row * (height + gap)))
    return np.asarray(sheet)


@pytest.mark.parametrize("count", [2, 5, 9, 10])
def test_a_grid_is_the_images_pasted_near_square_with_their_seeds(count):
    images = pictures(count)
    sheet = compose_sheet(images, Sheet.GRID)
    grid = sheet.info["grid"]
    assert grid["columns"] * grid["rows"] >= count > (grid["columns"] - 1) * grid["rows"]
    assert abs(grid["columns"] - grid["rows"]) <= 1
    assert (grid["cell_width"], grid["cell_height"]) == (32, 24) and grid["gap"] >= 1
    assert np.array_equal(sheet.rgb, pasted(images, grid["columns"], grid["gap"]))
    assert sheet.info["seeds"] == [10 + i for i in range(count)]
    assert sheet.info["labels"] == [i % 3 for i in range(count)]
    assert sheet.seed == 10 and sheet.info["model"] == "m"


def test_a_strip_is_one_row_whose_cells_cut_back_out():
    images = pictures(4)
    sheet = compose_sheet(images, Sheet.STRIP)
    grid = sheet.info["grid"]
    assert (grid["columns"], grid["rows"]) == (4, 1)
    gap = grid["gap"]
    assert sheet.rgb.shape == (24, 4 * 32 + 3 * gap, 3)
    for i, image in enumerate(images):
        x = i * (32 + gap)
        assert np.array_equal(sheet.rgb[:, x : x + 32], image.rgb)
        if i:
            assert (sheet.rgb[:, x - gap : x] == GAP[0]).all()
    # Frames of a walk: the recipe lists each frame's t instead of one t.
    assert sheet.info["ts"] == [0.0, 1 / 3, 2 / 3, 1.0] and "t" not in sheet.info


def test_an_equation_keeps_its_operands_and_its_pictures():
    images = tuple(
        ResultImage(image.rgb, seed, i, {"operand": operand})
        for i, (image, seed, operand) in enumerate(
            zip(pictures(4), (1, 2, 3, None), ("A", "B", "C", "A − B + C"), strict=True)
        )
    )
    sheet = compose_sheet(images, Sheet.EQUATION)
    grid = sheet.info["grid"]
    assert (grid["columns"], grid["rows"]) == (4, 1)
    assert sheet.info["operands"] == ["A", "B", "C", "A − B + C"]
    assert sheet.info["seeds"] == [1, 2, 3, None] and "operand" not in sheet.info
    for i, image in enumerate(images):
        x = i * (32 + grid["gap"])
        assert np.array_equal(sheet.rgb[:, x : x + 32], image.rgb)


class CountingStore:
    """A gallery that fails its first `fail` saves and counts every call."""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.saved, self.tries = fail, [], 0

    def save(self, image: ResultImage, request) -> Path:
        self.tries += 1
        if self.tries <= self.fail:
            raise StoreError("The disk is full.")
        self.saved.append(image)
        return Path(f"/gallery/{len(self.saved)}.png")


def test_a_declared_sheet_is_saved_as_one_image():
    store = CountingStore()
    request = SampleRequest(model=MODEL, count=4, grid=True, save=True)
    done = finish_images(ImagesOutcome(pictures(4), Sheet.GRID), request, lambda: store)
    assert len(done.images) == 1 and done.sheet is Sheet.NONE
    assert done.images[0].path == "/gallery/1.png" and len(store.saved) == 1
    assert done.images[0].info["seeds"] == [10, 11, 12, 13]


@pytest.mark.parametrize(
    "outcome", [ImagesOutcome(pictures(3)), ImagesOutcome(pictures(1), Sheet.GRID)]
)
def test_no_sheet_or_one_image_keeps_each_image(outcome):
    store = CountingStore()
    request = SampleRequest(model=MODEL, count=len(outcome.images), save=True)
    done = finish_images(outcome, request, lambda: store)
    assert len(done.images) == len(outcome.images)
    for kept, made in zip(done.images, outcome.images, strict=True):
        assert np.array_equal(kept.rgb, made.rgb) and kept.seed == made.seed
    assert [image.path for image in done.images] == [
        f"/gallery/{i + 1}.png" for i in range(len(outcome.images))
    ]


def test_a_request_that_does_not_save_never_opens_the_gallery():
    opened = []
    request = SampleRequest(model=MODEL, count=2, save=False)
    done = finish_images(ImagesOutcome(pictures(2)), request, lambda: opened.append(1))
    assert not opened
    assert all(image.path is None and image.png_text for image in done.images)


def test_after_a_failed_save_the_rest_are_kept_unsaved_without_trying_again():
    store = CountingStore(fail=1)
    request = SampleRequest(model=MODEL, count=3, save=True)
    done = finish_images(ImagesOutcome(pictures(3)), request, lambda: store)
    assert store.tries == 1
    assert [image.save_error for image in done.images] == ["The disk is full."] * 3
    assert all(image.path is None and "parameters" in image.png_text for image in done.images)
