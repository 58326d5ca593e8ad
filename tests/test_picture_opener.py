"""gui/picture_opener.py on its own: only the last picture asked for is handed over, with
its pixels and its metadata together; a read whose picture was walked past is skipped.

Pixels are checked against Pillow's read of the same file; the metadata reader is a stub
the test controls (it can hold a read until released), so the order of answers is the
test's, not the machine's.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

from engine.store import StoreError
from gui.image_loader import ImageLoader
from gui.picture_opener import PictureOpener


def png(path: Path, seed: int) -> str:
    rgb = np.random.default_rng(seed).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return str(path)


def pixels_of(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


@pytest.fixture
def opener(qtbot):
    opener = PictureOpener()
    opened: list[tuple[str, QImage, object]] = []
    failed: list[str] = []
    opener.opened.connect(lambda *args: opened.append(args))
    opener.failed.connect(failed.append)
    opener.answers = opened, failed
    yield opener
    opener.close()


def test_a_read_no_longer_wanted_is_skipped_and_can_be_asked_again(qtbot, tmp_path):
    path = png(tmp_path / "a.png", 1)
    loader = ImageLoader()
    read: list[str] = []
    loader.image_loaded.connect(lambda p, _image: read.append(p))
    loader.image(path, wanted=lambda _p: False)
    assert loader.wait(5_000)
    qtbot.wait(50)
    assert read == []  # skipped: nothing decoded, nothing said
    loader.image(path, wanted=lambda _p: True)  # the claim was released
    qtbot.waitUntil(lambda: read == [path], timeout=5_000)
    loader.close()


def test_only_the_last_picture_asked_for_is_handed_over(qtbot, tmp_path, opener):
    first, last = png(tmp_path / "first.png", 1), png(tmp_path / "last.png", 2)
    held = threading.Event()

    def slow_metadata(path: Path) -> str:
        held.wait(5)  # the first picture's metadata comes after the last one is asked
        return f"meta of {path.name}"

    opener.open(first, slow_metadata)
    opener.open(last, lambda path: f"meta of {path.name}")
    assert opener.pending == last
    held.set()
    opened, failed = opener.answers
    qtbot.waitUntil(lambda: bool(opened), timeout=5_000)
    assert opener.wait()
    qtbot.wait(50)  # anything else queued would land now
    assert [(p, m) for p, _image, m in opened] == [(last, "meta of last.png")] and not failed
    with Image.open(last) as image:
        assert np.array_equal(pixels_of(opened[0][1]), np.asarray(image.convert("RGB")))
    assert opener.pending is None


def test_a_picture_outside_the_gallery_comes_with_no_metadata(qtbot, tmp_path, opener):
    path = png(tmp_path / "elsewhere.png", 3)

    def outside(path: Path) -> str:
        raise StoreError(f"{path} is not an image in the gallery folder.")

    opener.open(path, outside)
    opened, _failed = opener.answers
    qtbot.waitUntil(lambda: bool(opened), timeout=5_000)
    assert opened[0][0] == path and opened[0][2] is None


def test_unreadable_pixels_fail_without_waiting_for_the_metadata(qtbot, tmp_path, opener):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    held = threading.Event()
    opener.open(str(broken), lambda _path: held.wait(5))
    opened, failed = opener.answers
    qtbot.waitUntil(lambda: failed == [str(broken)], timeout=5_000)
    assert opener.pending is None and not opened
    held.set()
    assert opener.wait()
    qtbot.wait(50)
    assert not opened  # the metadata that came later is dropped
