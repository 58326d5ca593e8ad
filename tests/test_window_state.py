"""The window as the user left it after a restart, and room for the canvas when small.

Real windows over one settings.ini: the first is used and closed, the second opened as
the next start would open it (issue 19, "The first hour").
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage

from engine.api.events import Finished
from engine.api.outcomes import ImagesOutcome
from gui.app import create_main_window
from gui.settings import AppSettings
from tests.opened import wait_described, wait_opened

LAB, GALLERY = 1, 2


def open_window(qtbot, settings: AppSettings):
    window = create_main_window(settings)
    window.events = []
    window.client.event.connect(window.events.append)
    qtbot.addWidget(window)
    window.show()
    return window


def sheet_of_sevens(qtbot, window) -> Path:
    """A ddpm-digits sheet drawn with class 7 and guidance 2.5; the file it was saved to."""
    lab = window.lab_panel
    window.set_mode(LAB)
    lab.refresh_models(select="ddpm-digits")
    lab.label.setCurrentIndex(lab.label.findData(7))
    lab.guidance.setValue(2.5)
    lab.count.setValue(4)
    lab.steps.setValue(10)
    assert window.generate() is not None, window.last_error
    qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in window.events), timeout=60_000)
    wait_described(qtbot, window)  # its file's details are read off the GUI thread
    outcome = next(e for e in window.events if isinstance(e, Finished)).outcome
    assert isinstance(outcome, ImagesOutcome)
    return Path(outcome.images[0].path)


def same_pixels(a: QImage, b: QImage) -> bool:
    fmt = QImage.Format.Format_RGB888
    return a.convertToFormat(fmt) == b.convertToFormat(fmt)


def test_size_mode_class_guidance_and_the_last_image_come_back_after_a_restart(
    qtbot, settings, trash
):
    first = open_window(qtbot, settings)
    first.resize(1100, 760)
    qtbot.waitUntil(lambda: first.size() == QSize(1100, 760))
    sheet = sheet_of_sevens(qtbot, first)
    first.set_mode(GALLERY)
    first.close_now()

    again = open_window(qtbot, settings)
    try:
        assert again.size() == QSize(1100, 760)
        assert again.mode == first.mode == "Gallery"
        lab = again.lab_panel
        assert lab.model.id == "ddpm-digits"
        assert lab.label.currentData() == 7 and lab.guidance.value() == 2.5
        wait_opened(qtbot, again, sheet)
        assert again.canvas.image is not None
        assert same_pixels(again.canvas.image, QImage(str(sheet)))
        assert again.details.meta is not None and Path(again.details.meta.path) == sheet
    finally:
        again.close_now()


def test_a_last_image_deleted_since_leaves_an_empty_canvas_and_no_error(qtbot, settings, trash):
    first = open_window(qtbot, settings)
    sheet = sheet_of_sevens(qtbot, first)
    first.close_now()
    sheet.unlink()

    again = open_window(qtbot, settings)
    try:
        assert again.canvas.image is None and again.last_error is None
        assert again.details.meta is None
    finally:
        again.close_now()


def test_at_1024_by_700_the_canvas_keeps_a_fair_share_of_the_width(qtbot, settings, trash):
    window = open_window(qtbot, settings)
    try:
        window.resizeDocks([window.queue_dock], [480], Qt.Orientation.Horizontal)  # dragged
        window.resize(1024, 700)
        qtbot.waitUntil(lambda: window.width() == 1024)
        # The docks and the mode panel give way, down to what their controls need (the
        # panel never below its form's minimum: it used to be cut to 320 px, clipping
        # the Lab's and Create's controls); the canvas is not squeezed to a strip (it was
        # 260 px of 1024).
        qtbot.waitUntil(lambda: window.views.width() >= 0.28 * window.width(), timeout=5_000)
        needs = window.current_panel.minimumSizeHint().width()
        qtbot.waitUntil(lambda: window.panels.width() >= needs, timeout=5_000)
        assert window.queue_dock.width() >= 200
    finally:
        window.close_now()
