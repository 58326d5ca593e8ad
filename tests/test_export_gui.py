"""The gallery's Export… and Contact Sheet… dialogs (issue 24): they run off the GUI
thread, Cancel leaves only whole files, and what went wrong is shown as a sentence."""

from __future__ import annotations

import os
import threading

import pytest
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

import gui.export_dialog as export_dialog
from engine.store import GalleryStore
from engine.store.contact_sheet import CAPTION_HEIGHT, GAP
from gui.gallery_panel import GalleryPanel
from tests.test_store import sd, txt2img_batch

EXIF_IFD, USER_COMMENT = 0x8769, 0x9286


@pytest.fixture
def panel(qtbot, tmp_path):
    store = GalleryStore(tmp_path / "gallery")
    for prompt, seed in (("red fox", 1), ("grey wolf", 2), ("owl", 3)):
        request = sd(prompt, seed)
        store.save(txt2img_batch(request)[0], request)
    panel = GalleryPanel(store)
    qtbot.addWidget(panel)
    panel.show()
    panel.sync()
    qtbot.waitUntil(lambda: not panel.syncer.running and panel.model.total == 3)
    panel.view.selectAll()
    yield panel
    panel.close_loader()
    store.close()


def ok(dialog) -> None:
    dialog.ok.click()


def test_the_context_menu_offers_export_and_a_contact_sheet(panel):
    texts = [action.text() for action in panel.view.actions()]
    assert "Export…" in texts and "Contact Sheet…" in texts


def test_export_runs_off_the_gui_thread_and_writes_jpegs_with_the_a1111_text(
    qtbot, panel, tmp_path, monkeypatch
):
    threads = []
    real = export_dialog.export

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(export_dialog, "export", recorded)
    dialog = panel.export_selected()
    dialog.folder.setText(str(tmp_path / "shared"))
    dialog.format.setCurrentIndex(dialog.format.findData("jpeg"))
    assert dialog.quality.isEnabled()
    ok(dialog)
    qtbot.waitUntil(lambda: "Exported 3 of 3" in dialog.message.text())
    assert threads == [False]
    written = sorted((tmp_path / "shared").iterdir())
    assert [p.suffix for p in written] == [".jpg"] * 3
    for path in written:
        with Image.open(path) as image:
            assert image.getexif().get_ifd(EXIF_IFD)[USER_COMMENT].startswith(b"UNICODE\0")
    dialog.reject()  # Close


def test_cancel_mid_export_leaves_whole_files_and_says_so(qtbot, panel, tmp_path, monkeypatch):
    release = threading.Event()
    real = export_dialog.export

    def slow(paths, folder, how, progress, cancelled):
        def held(done, total):
            progress(done, total)
            release.wait(10)  # after the first picture: the user presses Cancel now

        return real(paths, folder, how, held, cancelled)

    monkeypatch.setattr(export_dialog, "export", slow)
    dialog = panel.export_selected()
    dialog.folder.setText(str(tmp_path / "shared"))
    dialog.strip.setChecked(True)
    ok(dialog)
    qtbot.waitUntil(lambda: dialog.bar.value() == 1)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert dialog.isVisible() and "Cancelling" in dialog.message.text()
    release.set()
    qtbot.waitUntil(lambda: "cancelled" in dialog.message.text())
    assert "Exported 1 of 1" in dialog.message.text()
    files = os.listdir(tmp_path / "shared")
    assert len(files) == 1 and not files[0].startswith(".")  # no temp file left
    with Image.open(tmp_path / "shared" / files[0]) as image:
        image.load()  # whole
        assert image.text == {}  # stripped
    dialog.reject()


def test_a_bad_folder_is_a_sentence_in_the_dialog(qtbot, panel, tmp_path):
    (tmp_path / "a file").write_text("x")
    dialog = panel.export_selected()
    ok(dialog)
    assert dialog.message.text() == "Choose the folder to export into."
    dialog.folder.setText(str(tmp_path / "a file"))
    ok(dialog)
    qtbot.waitUntil(lambda: "is a file" in dialog.message.text())
    assert dialog.isVisible() and dialog.ok.isEnabled()
    dialog.reject()


def test_contact_sheet_dialog_draws_the_selection(qtbot, panel, tmp_path):
    panel.store.set_stars([panel.selected_paths()[0]], 4)
    dialog = panel.contact_sheet_selected()
    dialog.target.setText(str(tmp_path / "sheet.png"))
    dialog.columns.setValue(2)
    dialog.tile.setValue(64)
    ok(dialog)
    qtbot.waitUntil(lambda: "Wrote" in dialog.message.text())
    with Image.open(tmp_path / "sheet.png") as sheet:
        assert sheet.size == (GAP + 2 * (64 + GAP), GAP + 2 * (64 + CAPTION_HEIGHT + GAP))
    dialog.reject()


def test_export_with_nothing_selected_opens_nothing(panel):
    panel.view.clearSelection()
    panel.view.setCurrentIndex(panel.model.index(-1, 0))
    assert panel.export_selected() is None and panel.contact_sheet_selected() is None
