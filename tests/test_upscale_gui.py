"""The Upscale mode, driven with qtbot on the real window and engine: the inputs list
(drops, folders, the gallery's and details' Upscale), the request the controls build, a
real batch with Lanczos into the gallery, failures marked in the list while the rest go
on, and the megapixel guard's "Upscale Anyway" (the before/after view: test_compare_view)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.api.events import Cancelled, Failed, Finished, Progress, Queued
from engine.api.kinds import ErrorKind, Family
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import UpscaleRequest
from engine.store import read_metadata
from gui.app import create_main_window
from gui.settings import AppSettings
from gui.viewmodels.upscale import EntryStatus
from tests.opened import wait_described, wait_opened

UPSCALE = 3
LANCZOS = ModelRef(Family.UPSCALE, "lanczos")


def write_png(path: Path, width: int, height: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A file of a few bytes whose header claims `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    models = tmp_path / "models" / "upscale_models"
    models.mkdir(parents=True)
    (models / "4x-Sharp.pth").write_bytes(b"not really a model")  # listed, never loaded
    settings.models_dirs = [tmp_path / "models"]
    return settings


@pytest.fixture
def window(window):
    window.set_mode(UPSCALE)
    return window


def ended(window) -> list:
    """How the upscale jobs ended (not the jobs that ask what a picked model file is)."""
    upscales = {
        e.job_id
        for e in window.events
        if isinstance(e, Queued) and isinstance(e.request, UpscaleRequest)
    }
    return [
        e
        for e in window.events
        if isinstance(e, (Finished, Failed, Cancelled)) and e.job_id in upscales
    ]


def drop(widget, paths: list[Path]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    where = QPointF(widget.rect().center())
    none, copy = Qt.KeyboardModifier.NoModifier, Qt.DropAction.CopyAction
    enter = QDragEnterEvent(where.toPoint(), copy, mime, Qt.MouseButton.NoButton, none)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(where, copy, mime, Qt.MouseButton.NoButton, none)
    QApplication.sendEvent(widget, event)
    return event


def row_texts(panel) -> list[str]:
    return [panel.list.item(i).text() for i in range(panel.list.count())]


# ---------------------------------------------------------------- the mode and its controls


def test_the_upscale_mode_replaces_the_canvas_with_the_compare_view(window):
    panel = window.upscale_panel
    assert window.mode == "Upscale" and window.mode_actions[UPSCALE].isEnabled()
    assert window.views.currentWidget() is panel.compare and panel.compare.isVisible()
    assert not window.canvas.isVisible()
    assert window.generate_action.isEnabled()
    window.set_mode(1)
    assert window.views.currentWidget() is window.canvas and not panel.compare.isVisible()
    window.set_mode(2)  # the gallery keeps its grid on the left and the canvas on the right
    assert window.views.currentWidget() is window.canvas
    assert window.gallery_panel.isAncestorOf(window.gallery_panel.view)
    window.set_mode(UPSCALE)
    assert window.views.currentWidget() is panel.compare
    # The picker: the two resamplers, whatever is bundled, and the file in models/upscale_models.
    titles = [panel.model_box.itemText(i) for i in range(panel.model_box.count())]
    assert titles[:2] == ["Lanczos (no model)", "Bicubic (no model)"]
    assert titles[-1] == "4x-Sharp"  # its folder (upscale_models, ESRGAN) says nothing


def test_dropping_a_folder_adds_its_images_and_skips_the_rest(qtbot, window, tmp_path):
    folder = tmp_path / "renders"
    (folder / "nested").mkdir(parents=True)
    write_png(folder / "b.png", 40, 30)
    Image.fromarray(np.zeros((20, 10, 3), np.uint8)).save(folder / "a.JPG")
    (folder / "notes.txt").write_text("not an image")
    write_png(folder / "nested" / "deep.png", 8, 8)  # only images directly inside
    stray = tmp_path / "readme.md"
    stray.write_text("#")
    panel = window.upscale_panel
    drop(panel, [folder, stray])
    qtbot.waitUntil(lambda: len(panel.inputs.entries) == 2)  # listed off the GUI thread
    assert [Path(e.path).name for e in panel.inputs.entries] == ["a.JPG", "b.png"]
    assert "readme.md" in window.statusBar().currentMessage()
    # The header sizes arrive with the thumbnails, off the GUI thread.
    qtbot.waitUntil(lambda: row_texts(panel) == ["a.JPG\n10×20", "b.png\n40×30"])
    assert panel.upscale_button.text() == "Upscale 2 images"
    # The first new image is shown on its own (no result yet) once it is read.
    qtbot.waitUntil(lambda: panel.compare.before is not None)
    assert panel.compare.before.size().toTuple() == (10, 20) and panel.compare.after is None
    drop(panel, [folder])  # again: nothing twice
    qtbot.waitUntil(lambda: "2 already in the list" in window.statusBar().currentMessage())
    assert len(panel.inputs.entries) == 2 and panel.list.count() == 2
    panel.list.item(0).setSelected(True)
    panel.remove_button.click()
    assert [Path(e.path).name for e in panel.inputs.entries] == ["b.png"]


def test_the_panel_builds_the_request_an_artist_expects(window, tmp_path):
    panel = window.upscale_panel
    image = write_png(tmp_path / "portrait.png", 16, 16)
    panel.add_paths([image])
    panel.select_model("lanczos")
    assert not panel.own_scale.isEnabled()  # a resampler has no factor of its own
    panel.x2.setChecked(True)
    assert panel.build_request() == UpscaleRequest(
        model=LANCZOS, image=ImageRef(str(image), ""), scale=2.0, tile=-1
    )
    panel.other_scale.setChecked(True)
    panel.factor.setValue(3.5)
    panel.tile_mode.setCurrentIndex(panel.tile_mode.findText("Tiles of"))
    panel.tile_size.setValue(256)
    assert panel.build_request() == UpscaleRequest(
        model=LANCZOS, image=ImageRef(str(image), ""), scale=3.5, tile=256
    )
    panel.tile_mode.setCurrentIndex(panel.tile_mode.findText("Whole image"))
    user_file = str(tmp_path / "models" / "upscale_models" / "4x-Sharp.pth")
    assert panel.select_model(user_file) and panel.own_scale.isEnabled()
    panel.own_scale.setChecked(True)
    assert panel.build_request() == UpscaleRequest(
        model=ModelRef(Family.UPSCALE, user_file), image=ImageRef(str(image), ""), scale=0.0, tile=0
    )
    assert not panel.factor.isEnabled() and not panel.tile_size.isEnabled()
    # Switching to a resampler moves "model's own" to a factor Lanczos can do.
    panel.select_model("bicubic")
    assert panel.x2.isChecked() and panel.build_request().scale == 2.0


def test_the_controls_are_remembered_for_the_next_start(qtbot, settings, trash, tmp_path):
    first = create_main_window(settings)
    qtbot.addWidget(first)
    panel = first.upscale_panel
    panel.select_model("bicubic")
    panel.other_scale.setChecked(True)
    panel.factor.setValue(1.5)
    panel.tile_mode.setCurrentIndex(panel.tile_mode.findText("Tiles of"))
    panel.tile_size.setValue(128)
    panel.smooth_box.setChecked(True)
    first.close_now()
    second = create_main_window(settings)
    qtbot.addWidget(second)
    again = second.upscale_panel
    assert (again.model.id, again.scale_value(), again.tile_value()) == ("bicubic", 1.5, 128)
    assert again.smooth_box.isChecked() and again.compare.smooth_before
    second.close_now()


# ---------------------------------------------------------------- real jobs


def test_a_batch_upscales_each_image_into_the_gallery_and_compares_the_last(
    qtbot, window, settings, tmp_path
):
    panel = window.upscale_panel
    first = write_png(tmp_path / "one.png", 48, 32, seed=1)
    second = write_png(tmp_path / "two.png", 20, 30, seed=2)
    panel.add_paths([first, second])
    panel.select_model("lanczos")
    panel.x4.setChecked(True)
    QTest.keyClick(panel.list, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    # The batch's journal is read off the GUI thread; then both jobs start.
    qtbot.waitUntil(lambda: len([e for e in window.events if isinstance(e, Queued)]) == 2)
    queued = [e.request for e in window.events if isinstance(e, Queued)]
    assert [r.image.path for r in queued] == [str(first), str(second)]
    assert {(r.model, r.scale, r.tile) for r in queued} == {(LANCZOS, 4.0, -1)}
    assert window.queue_dock.tree.topLevelItemCount() == 2
    assert panel.progress.isVisible() and panel.batch.total == 2
    qtbot.waitUntil(lambda: len(ended(window)) == 2, timeout=120_000)
    assert all(isinstance(e, Finished) for e in ended(window))
    # Both saved in the gallery, with the original recorded as the parent.
    saved = [Path(e.outcome.images[0].path) for e in ended(window)]
    assert all(p.is_relative_to(settings.output_dir) and p.is_file() for p in saved)
    assert [Image.open(p).size for p in saved] == [(192, 128), (80, 120)]
    meta = read_metadata(saved[0])
    assert meta.recipe["parent"]["path"] == str(first) and meta.request == queued[0]
    window.set_mode(2)  # listed off the GUI thread: the answer comes
    qtbot.waitUntil(lambda: window.gallery_panel.model.rowCount() == 2)
    window.set_mode(UPSCALE)
    # The list marks both done; the view compares the last result with its original.
    assert [e.status for e in panel.inputs.entries] == [EntryStatus.DONE] * 2
    assert row_texts(panel) == ["one.png\n✓ 48×32 → 192×128", "two.png\n✓ 20×30 → 80×120"]
    assert panel.progress.text() == "Finished 2 of 2"
    qtbot.waitUntil(lambda: panel.compare.before is not None)
    assert panel.compare.before.size().toTuple() == (20, 30)
    assert panel.compare.after.size().toTuple() == (80, 120)
    # Clicking the first row shows its pair (the result read back from the gallery).
    panel.list.setCurrentRow(0)
    qtbot.waitUntil(lambda: panel.compare.after is not None)
    qtbot.waitUntil(lambda: panel.compare.before is not None)
    assert panel.compare.before.size().toTuple() == (48, 32)
    assert panel.compare.after.size().toTuple() == (192, 128)
    # View → Actual Size acts on the view that is shown: here the comparison.
    next(a for a in window.actions() if a.text() == "Actual Size").trigger()
    assert panel.compare.scale() == 1.0 and not panel.compare.fitted
    # The details of an upscaled image say where it came from: the last result's, or the
    # clicked row's once its file has been read off the GUI thread (CI saw both).
    sources = {str(first), str(second)}
    qtbot.waitUntil(lambda: dict(window.details.rows()).get("Upscaled from") in sources)
    assert dict(window.details.rows())["Factor"] == "×4"


def test_two_models_results_of_one_image_compare_side_by_side(qtbot, window, tmp_path):
    """Upscale one image with Lanczos, then with Bicubic: the left side can show
    Lanczos's result against Bicubic's, each labelled, the pixels those of the files."""
    panel = window.upscale_panel
    source = write_png(tmp_path / "photo.png", 24, 16, seed=3)
    panel.add_paths([source])
    panel.x2.setChecked(True)
    assert not panel.left_box.isEnabled()  # nothing to compare the original with yet
    for model, runs in (("lanczos", 1), ("bicubic", 2)):
        panel.select_model(model)
        window.generate()
        qtbot.waitUntil(lambda runs=runs: len(ended(window)) == runs, timeout=120_000)
    lanczos, bicubic = (Path(e.outcome.images[0].path) for e in ended(window))
    # By default the newest result against the original.
    assert panel.compare.labels == ("Original", "bicubic")
    choices = [panel.left_box.itemText(i) for i in range(panel.left_box.count())]
    assert choices == ["Original", "lanczos's result"]
    assert panel.left_box.isEnabled()
    panel.left_box.setCurrentIndex(1)
    panel.left_box.activated.emit(1)
    assert panel.compare.labels == ("lanczos", "bicubic")
    qtbot.waitUntil(lambda: panel.compare.before is not None and panel.compare.after is not None)
    shown = panel.compare.before.convertToFormat(panel.compare.before.Format.Format_RGB888)
    width, height = shown.width(), shown.height()
    pixels = np.frombuffer(shown.constBits(), np.uint8).reshape(height, shown.bytesPerLine())
    pixels = pixels[:, : width * 3].reshape(height, width, 3)
    assert np.array_equal(pixels, np.asarray(Image.open(lanczos).convert("RGB")))
    assert not np.array_equal(pixels, np.asarray(Image.open(bicubic).convert("RGB")))
    # The choice is kept while a row without that model's result shows the original.
    other = write_png(tmp_path / "other.png", 10, 10, seed=4)
    panel.add_paths([other])
    panel.list.setCurrentRow(1)
    assert panel.compare.labels[0] == "Before" and not panel.left_box.isEnabled()
    panel.list.setCurrentRow(0)
    assert panel.compare.labels[0] == "lanczos"


def test_a_model_upscale_shows_its_tiles_as_it_goes(qtbot, window, tmp_path):
    from tests.upscalers import compact_net, save_safetensors

    folder = tmp_path / "models" / "upscale_models"
    model = save_safetensors(compact_net(scale=2), folder / "2x-tiny.safetensors")
    window.apply_settings()  # the picker looks in the models folders again
    panel = window.upscale_panel
    assert panel.select_model(str(model))
    panel.own_scale.setChecked(True)
    panel.tile_mode.setCurrentIndex(panel.tile_mode.findText("Tiles of"))
    panel.tile_size.setValue(32)
    panel.add_paths([write_png(tmp_path / "in.png", 80, 70)])
    seen: list[tuple[int, int, str, str]] = []  # what the panel said at each Progress

    def look(event: object) -> None:
        if isinstance(event, Progress) and event.total > 1:
            seen.append((event.step, event.total, panel.progress_label.text(), row_texts(panel)[0]))

    window.client.event.connect(look)  # after the window's own slot: it has drawn the event
    window.generate()
    qtbot.waitUntil(lambda: len(ended(window)) == 1, timeout=120_000)
    [finished] = ended(window)
    assert isinstance(finished, Finished) and finished.outcome.images[0].rgb.shape[:2] == (140, 160)
    assert len(seen) > 2
    for step, total, label, row in seen:
        assert label.startswith(f"Upscaling in.png: tile {step} of {total}")
        assert row == f"in.png\n80×70 · tile {step} of {total}"
    assert any(" left" in label for _step, _total, label, _row in seen)  # with an ETA
    assert row_texts(panel) == ["in.png\n✓ 80×70 → 160×140"]
    assert not panel.progress_label.isVisible()
    wait_described(qtbot, window)  # its file's details are read off the GUI thread
    assert dict(window.details.rows())["Upscaler"].startswith("2x-tiny (")


def test_a_failing_image_is_marked_in_the_list_and_the_next_one_still_finishes(
    qtbot, window, tmp_path
):
    panel = window.upscale_panel
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    good = write_png(tmp_path / "good.png", 12, 10)
    panel.add_paths([empty, good])
    panel.select_model("lanczos")
    panel.x2.setChecked(True)
    window.generate()
    qtbot.waitUntil(lambda: len(ended(window)) == 2, timeout=120_000)
    failed, finished = ended(window)
    assert isinstance(failed, Failed) and failed.kind is ErrorKind.BAD_INPUT
    assert isinstance(finished, Finished) and finished.outcome.images[0].width == 24
    bad, ok = panel.inputs.entries
    assert (bad.status, ok.status) == (EntryStatus.FAILED, EntryStatus.DONE)
    item = panel.list.item(0)
    assert item.text().startswith("empty.png\n✗ failed: empty.png is empty (0 bytes)")
    assert item.foreground().color() == QColor("#ff7070")
    assert failed.message in item.toolTip()
    # No box per failed image: the list and the status bar say it.
    assert not [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert window.last_error == failed.message
    assert panel.progress.text() == "Finished 1 of 2 · 1 failed"
    panel.list.setCurrentRow(0)
    assert "empty (0 bytes)" in panel.info.text()


def test_an_image_over_the_megapixel_guard_can_be_upscaled_anyway(qtbot, window, tmp_path):
    panel = window.upscale_panel
    huge = bomb_png(tmp_path / "huge.png", 10_000, 5_000)
    panel.add_paths([huge])
    panel.select_model("lanczos")
    window.generate()
    qtbot.waitUntil(lambda: len(ended(window)) == 1, timeout=120_000)
    assert isinstance(ended(window)[0], Failed) and "megapixels" in ended(window)[0].message
    assert panel.inputs.entries[0].too_large
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    anyway = next(b for b in box.buttons() if b.text() == "Upscale Anyway")
    anyway.click()
    qtbot.waitUntil(lambda: len(ended(window)) == 2, timeout=120_000)
    again = [e.request for e in window.events if isinstance(e, Queued)][-1]
    assert again.allow_large and again.image.path == str(huge)
    # Past the guard the file is read, and this one is damaged: said, not asked again.
    assert isinstance(ended(window)[1], Failed) and not panel.inputs.entries[0].too_large
    assert not [b for b in window.findChildren(QMessageBox) if b.isVisible()]


# ---------------------------------------------------------------- entry points


def test_upscale_from_the_gallery_the_details_and_the_canvas_fills_the_panel(
    qtbot, window, settings
):
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    image = write_png(settings.output_dir / "keeper.png", 24, 16)
    window.set_mode(2)
    gallery = window.gallery_panel
    gallery.sync()
    qtbot.waitUntil(lambda: gallery.model.rowCount() == 1, timeout=30_000)
    gallery.view.setCurrentIndex(gallery.model.index(0, 0))
    action = next(a for a in gallery.view.actions() if a.text() == "Upscale…")
    action.trigger()
    panel = window.upscale_panel
    assert window.mode == "Upscale"
    assert [e.path for e in panel.inputs.entries] == [str(image)]
    qtbot.waitUntil(lambda: panel.compare.before is not None)
    assert panel.compare.before.size().toTuple() == (24, 16)
    panel.clear()
    # The details panel of the opened image, and the canvas (Generate → Upscale This Image).
    window.open_image(str(image))
    wait_opened(qtbot, window, image)
    assert window.details.upscale_button.isEnabled()
    window.details.upscale_button.click()
    assert window.mode == "Upscale" and [e.path for e in panel.inputs.entries] == [str(image)]
    panel.clear()
    window.set_mode(2)
    window.open_image(str(image))
    wait_opened(qtbot, window, image)
    assert window.upscale_action.isEnabled() and window.upscale_action in window.canvas.actions()
    window.upscale_action.trigger()
    assert window.mode == "Upscale" and [e.path for e in panel.inputs.entries] == [str(image)]


def test_a_picked_file_is_opened_to_name_its_architecture_and_factor(qtbot, window, tmp_path):
    from tests.upscalers import esrgan_net, save_pth

    folder = tmp_path / "models" / "upscale_models"
    real = str(save_pth(esrgan_net(scale=2), folder / "2x-Anime.pth", "params_ema"))
    panel = window.upscale_panel
    panel.scan_models([tmp_path / "models"])
    window.set_mode(UPSCALE)
    assert panel.select_model(real)
    index = panel.model_box.currentIndex()
    qtbot.waitUntil(lambda: "ESRGAN" in panel.model_box.itemText(index), timeout=60_000)
    assert panel.model_box.itemText(index) == "2x-Anime · ×2 ESRGAN"
    assert panel.own_scale.text() == "Model's own (×2)"
    # A file that is not a model says so in the picker, with the engine's sentence.
    fake = str(folder / "4x-Sharp.pth")
    assert panel.select_model(fake)
    index = panel.model_box.currentIndex()
    qtbot.waitUntil(lambda: "cannot be used" in panel.model_box.itemText(index), timeout=60_000)
    tip = panel.model_box.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "4x-Sharp.pth" in tip and tip.splitlines()[0].endswith(".")
