"""The smaller first-hour defects of issue 19: the compare view's double-click, Show in
folder without a file manager, the gallery after a delete, and the Help menu. Real
widgets and, where an image is needed, the real engine."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.api.events import Finished
from gui.compare_view import CompareView
from tests.opened import wait_described, wait_opened

LAB, GALLERY = 1, 2


def make_sheets(qtbot, window, count: int) -> list[Path]:
    window.set_mode(LAB)
    window.lab_panel.count.setValue(4)
    for i in range(count):
        window.lab_panel.seed.set_seed(100 + i)
        window.generate()
        qtbot.waitUntil(
            lambda i=i: sum(isinstance(e, Finished) for e in window.events) > i, timeout=60_000
        )
        wait_described(qtbot, window)  # its file's details are read off the GUI thread
    return [Path(e.outcome.images[0].path) for e in window.events if isinstance(e, Finished)]


def open_boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


def test_double_click_toggles_one_to_one_in_the_compare_view(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    small, large = (
        QImage(64, 64, QImage.Format.Format_RGB32),
        QImage(900, 900, QImage.Format.Format_RGB32),
    )
    view.set_images(small, large)
    view.set_divider(0.9)  # the double-click lands away from the divider
    where = QPoint(60, 150)
    assert view.fitted
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=where)
    assert not view.fitted and view.scale() == 1.0
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=where)
    assert view.fitted


def test_show_in_folder_without_a_file_manager_says_where_the_image_is(qtbot, window, monkeypatch):
    sheet = make_sheets(qtbot, window, 1)[0]
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)  # none installed
    assert window.details.reveal.isEnabled()
    qtbot.mouseClick(window.details.reveal, Qt.MouseButton.LeftButton)
    boxes = open_boxes()
    assert boxes and str(sheet.parent) in boxes[0].text()
    copy = next(b for b in boxes[0].buttons() if b.text() == "Copy Path")
    copy.click()
    assert QApplication.clipboard().text() == str(sheet)


def test_after_a_delete_the_next_image_is_selected_and_undo_leaves_the_message_readable(
    qtbot, window
):
    sheets = make_sheets(qtbot, window, 3)  # the gallery lists them newest first
    window.set_mode(GALLERY)
    gallery = window.gallery_panel
    qtbot.waitUntil(lambda: gallery.model.rowCount() == 3)
    assert gallery.select_path(str(sheets[1]))
    wait_opened(qtbot, window, sheets[1])
    gallery.delete_selected()
    # The image that took its place is selected, and it is the one on the canvas.
    assert gallery.current_path() == str(sheets[0])
    wait_opened(qtbot, window, sheets[0])
    message = window.statusBar().currentMessage()
    assert message.startswith("Moved 1 image")
    undo = window.undo_button
    assert undo.isVisible()
    text_end = window.statusBar().fontMetrics().horizontalAdvance(message)
    assert undo.geometry().left() > text_end  # beside the message, not over it


def test_the_help_menu_lists_the_shortcuts_that_work_and_says_what_this_is(qtbot, window):
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert "Help" in menus
    titles = [a.text() for a in menus["Help"].actions()]
    assert titles == ["Keyboard Shortcuts", "About Latent Studio"]
    menus["Help"].actions()[0].trigger()
    text = window.help_box.text()
    assert "Ctrl+Return" in text and "Generate" in text and "Double-click" in text
    window.help_box.close()
    menus["Help"].actions()[1].trigger()
    assert str(window.settings.output_dir) in window.help_box.text()
    window.help_box.close()
