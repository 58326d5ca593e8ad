"""The Upscale mode's before/after view (CompareView), on its own: the divider follows a
drag, the wheel zooms about the cursor with both halves aligned, and the original is
drawn with its own pixels unless smoothing is asked for."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.compare_view import CompareView

# ---------------------------------------------------------------- the compare view


def halves(width: int, height: int) -> QImage:
    """Black on top, white below: where the edge lands shows the image's transform."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    for y in range(height // 2):
        for x in range(width):
            image.setPixelColor(x, y, QColor("black"))
    return image


def edge_row(grab: QImage, x: int) -> int:
    """The first row at column x where the picture turns from black to white."""
    column = [QColor(grab.pixel(x, y)).lightness() for y in range(grab.height())]
    return next(y for y in range(1, len(column)) if column[y - 1] < 60 and column[y] > 200)


@pytest.fixture
def compare(qtbot) -> CompareView:
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    view.set_images(halves(10, 8), halves(40, 32))  # an ×4 pair
    return view


def test_the_divider_follows_a_drag_and_only_there(qtbot, compare):
    assert compare.divider == 0.5 and compare.fitted
    start = QPoint(round(compare.divider_x()), 150)
    QTest.mousePress(compare, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(compare, QPoint(100, 150))
    QTest.mouseRelease(
        compare, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 150)
    )
    assert compare.divider == pytest.approx(100 / 400)
    # A drag away from the divider pans the picture instead: both halves move together.
    rect = compare.picture_rect()
    QTest.mousePress(
        compare, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 150)
    )
    QTest.mouseMove(compare, QPoint(310, 170))
    QTest.mouseRelease(
        compare, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(310, 170)
    )
    assert compare.divider == pytest.approx(100 / 400)
    assert compare.picture_rect().topLeft() - rect.topLeft() == QPointF(10, 20)


def test_wheel_zoom_keeps_the_point_under_the_cursor_and_both_halves_aligned(qtbot, compare):
    fitted = compare.scale()
    before = compare.grab().toImage()
    assert edge_row(before, 150) == edge_row(before, 250)  # either side of the divider
    cursor = QPointF(230, 100)
    under = (cursor - compare.picture_rect().topLeft()) / fitted
    event = QWheelEvent(
        cursor,
        compare.mapToGlobal(cursor),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(compare, event)
    assert compare.scale() == pytest.approx(fitted * 1.25) and not compare.fitted
    assert (cursor - compare.picture_rect().topLeft()) / compare.scale() == under
    after = compare.grab().toImage()
    # The edge moved with the zoom, and it is at the same row before and after the divider:
    # one transform for both images, not two views kept in step.
    assert edge_row(after, 150) != edge_row(before, 150)
    assert edge_row(after, 150) == edge_row(after, 250)
    # A double-click away from the divider fits the picture again.
    QTest.mouseDClick(
        compare, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(50, 50)
    )
    assert compare.fitted and compare.scale() == pytest.approx(fitted)


def test_the_original_is_drawn_with_its_pixels_unless_smoothing_is_asked_for(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    checker = QImage(2, 2, QImage.Format.Format_RGB32)
    for x, y in ((0, 0), (1, 1)):
        checker.setPixelColor(x, y, QColor("black"))
    for x, y in ((1, 0), (0, 1)):
        checker.setPixelColor(x, y, QColor("white"))
    view.set_images(checker, halves(400, 400))
    view.set_divider(1.0)  # all before

    def greys() -> set[int]:
        grab = view.grab().toImage()
        return {QColor(grab.pixel(x, 100)).lightness() for x in range(20, 380, 7)}

    assert greys() <= {0, 255}  # nearest: only the original's own values
    view.smooth_action.setChecked(True)
    assert view.smooth_before and len(greys()) > 4  # interpolated: greys in between
