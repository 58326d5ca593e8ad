"""Adding a folder to the Upscale list lists it off the GUI thread (the GUI never looks
at the disk on an interactive move): "Listing FOLDER…" shows on the list meanwhile, and
exactly the folder's images come in when the answer does."""

# ruff: noqa: F811 - the window fixture comes from test_upscale_gui
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication

from engine.api.parts import ImageRef
from engine.api.requests import UpscaleRequest
from tests.test_gui_thread_disk import DiskCalls
from tests.test_upscale_gui import LANCZOS, drop, row_texts, settings, window, write_png  # noqa: F401


def photos(folder: Path) -> list[str]:
    """Three images of three formats and a note, in a fresh folder; the images' names."""
    folder.mkdir()
    write_png(folder / "c.png", 12, 8)
    Image.fromarray(np.zeros((6, 10, 3), np.uint8)).save(folder / "A.jpg")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / "b.webp")
    (folder / "notes.txt").write_text("not an image")
    return ["A.jpg", "b.webp", "c.png"]


def test_dropping_a_folder_lists_it_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    names = photos(folder)
    panel = window.upscale_panel
    disk = DiskCalls(monkeypatch)
    disk.recording = True
    drop(panel, [folder])
    # Nothing is added until the reader answers; the list says what it is doing.
    assert panel.inputs.entries == [] and panel.list.count() == 0
    assert panel.list.listing == "Listing photos…"
    qtbot.waitUntil(lambda: panel.list.count() == 3, timeout=30_000)
    disk.recording = False
    assert disk.calls == [], "\n".join(disk.calls)
    assert [Path(e.path).name for e in panel.inputs.entries] == names
    assert {Path(e.path).parent for e in panel.inputs.entries} == {folder}
    assert [text.split("\n")[0] for text in row_texts(panel)] == names
    assert panel.list.listing == ""
    assert panel.upscale_button.text() == "Upscale 3 images"


def test_a_folder_still_being_listed_when_clear_is_pressed_adds_nothing(qtbot, window, tmp_path):
    panel = window.upscale_panel
    folder = tmp_path / "photos"
    names = photos(folder)
    panel.add_paths([folder])
    panel.clear()
    panel.wait_for_listing()
    QApplication.processEvents()  # the answer is delivered, and dropped
    assert panel.inputs.entries == [] and panel.list.count() == 0
    assert panel.list.listing == ""
    # Added again, after the Clear, it comes in; a picture added meanwhile comes after it.
    panel.add_paths([folder])
    single = write_png(tmp_path / "single.png", 5, 5)
    panel.add_paths([single])
    qtbot.waitUntil(lambda: panel.list.count() == 4, timeout=30_000)
    assert [Path(e.path).name for e in panel.inputs.entries] == [*names, "single.png"]


def test_reopening_an_upscale_adds_its_original_after_asking_off_the_gui_thread(
    qtbot, window, tmp_path, monkeypatch
):
    """'Use these parameters' on an upscaled picture: the original comes back into the
    list, whether it still exists asked on the reader; a gone original is said."""
    panel = window.upscale_panel
    original = write_png(tmp_path / "original.png", 9, 7)
    recipe = UpscaleRequest(model=LANCZOS, image=ImageRef(str(original), ""), scale=2.0, tile=0)
    disk = DiskCalls(monkeypatch)
    disk.recording = True
    panel.apply_request(recipe)
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=30_000)
    disk.recording = False
    assert disk.calls == [], "\n".join(disk.calls)
    assert [Path(e.path) for e in panel.inputs.entries] == [original]
    assert panel.x2.isChecked() and panel.tile_value() == 0

    notices: list[str] = []
    panel.notice.connect(notices.append)
    gone = replace(recipe, image=ImageRef(str(tmp_path / "gone.png"), ""))
    panel.apply_request(gone)
    qtbot.waitUntil(lambda: bool(notices), timeout=30_000)
    assert "gone.png" in notices[0]
    assert panel.list.count() == 1  # nothing added for it
