"""The mask brush on the canvas: real widgets, real mouse and tablet events (issue 21).

Where a stroke lands is computed here independently of the canvas: a 300×200 image in
a 700×400 view fits at 2 screen pixels per image pixel (400 / 200, narrower than
700 / 300) and is centred, so image point (x, y) is at widget (50 + 2x, 2y).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QColor,
    QImage,
    QInputDevice,
    QKeySequence,
    QPointingDevice,
    QTabletEvent,
)
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from gui import mask_layer
from gui.canvas import ImageCanvas
from gui.mask_layer import MaskLayer
from gui.mask_tools import MaskTools

W, H = 300, 200
VIEW = QSize(700, 400)
SCALE, ORIGIN_X, ORIGIN_Y = 2.0, 50.0, 0.0
Left, Right, Middle = (
    Qt.MouseButton.LeftButton,
    Qt.MouseButton.RightButton,
    Qt.MouseButton.MiddleButton,
)
NO_KEYS = Qt.KeyboardModifier.NoModifier


def on_screen(x: float, y: float) -> QPoint:
    return QPoint(round(ORIGIN_X + x * SCALE), round(ORIGIN_Y + y * SCALE))


@pytest.fixture
def canvas(qtbot) -> ImageCanvas:
    canvas = ImageCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(VIEW)
    picture = QImage(W, H, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.darkGreen)
    canvas.set_image(picture)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_mask_layer(MaskLayer(W, H))
    return canvas


@pytest.fixture
def layer(canvas) -> MaskLayer:
    layer = canvas.mask_layer
    layer.brush.size, layer.brush.hardness = 10, 1.0
    return layer


def drag(qtbot, canvas, points, button=Left, keys=NO_KEYS) -> None:
    qtbot.mousePress(canvas, button, keys, on_screen(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, on_screen(*point))
    qtbot.mouseRelease(canvas, button, keys, on_screen(*points[-1]))


def at(layer: MaskLayer, x: int, y: int) -> int:
    return layer.image().pixelColor(x, y).red()


def raw(layer: MaskLayer) -> bytes:
    return bytes(layer.image().constBits())


def painted_width(layer: MaskLayer, y: int) -> int:
    return sum(1 for x in range(W) if at(layer, x, y) > 127)


# ------------------------------------------------------------ painting


def test_a_stroke_paints_exactly_where_the_cursor_went(qtbot, canvas, layer):
    assert canvas.scale() == SCALE  # the fit this file's arithmetic assumes
    # Few, far-apart events: the stroke must still be continuous between them.
    drag(qtbot, canvas, [(20, 50), (140, 50), (250, 50), (250, 150)])
    for x in range(20, 251):
        assert at(layer, x, 50) == 255, x
    for y in range(50, 151):
        assert at(layer, 250, y) == 255, y
    assert at(layer, 100, 150) == 0  # far from the path
    assert at(layer, 100, 50 + 8) == 0 and at(layer, 10, 50) == 0  # past the radius
    assert layer.can_undo() and not layer.is_empty()


def test_a_soft_brush_leaves_grey_edges_and_a_hard_one_does_not(qtbot, canvas, layer):
    layer.brush.size, layer.brush.hardness = 40, 0.0
    drag(qtbot, canvas, [(150, 100)])
    profile = [at(layer, 150 + d, 100) for d in range(0, 22, 3)]
    assert profile[0] >= 250 and profile[-1] == 0
    assert all(0 < level < 250 for level in profile[2:-1]), profile
    assert profile == sorted(profile, reverse=True)
    layer.clear()
    layer.brush.hardness = 1.0
    drag(qtbot, canvas, [(150, 100)])
    assert [at(layer, 150 + d, 100) for d in (0, 8, 16)] == [255, 255, 255]


def test_overlapping_dabs_of_one_stroke_do_not_build_up(qtbot, canvas, layer):
    layer.brush.size, layer.brush.hardness = 40, 0.0
    drag(qtbot, canvas, [(150, 100)])
    single = at(layer, 150, 112)
    layer.clear()
    drag(qtbot, canvas, [(150, 100), (150.5, 100), (150, 100), (150.5, 100)])
    assert abs(at(layer, 150, 112) - single) <= 2  # max-combined, not summed


def test_right_drag_alt_drag_and_the_eraser_erase(qtbot, canvas, layer):
    layer.fill()
    drag(qtbot, canvas, [(20, 40), (250, 40)], button=Right)
    drag(qtbot, canvas, [(20, 100), (250, 100)], keys=Qt.KeyboardModifier.AltModifier)
    layer.brush.erase = True
    drag(qtbot, canvas, [(20, 160), (250, 160)])
    for y in (40, 100, 160):
        assert [at(layer, x, y) for x in (20, 135, 250)] == [0, 0, 0]
    assert at(layer, 135, 70) == 255 and at(layer, 135, 130) == 255


def test_pressure_scales_the_dab(qtbot, canvas, layer):
    layer.brush.size = 40
    layer.begin_stroke(QPointF(80, 100), pressure=1.0)
    layer.end_stroke()
    layer.begin_stroke(QPointF(220, 50), pressure=0.25)
    layer.end_stroke()
    assert painted_width(layer, 100) == pytest.approx(40, abs=2)
    assert painted_width(layer, 50) == pytest.approx(10, abs=2)


def test_a_pen_paints_with_its_pressure(qtbot, canvas, layer):
    layer.brush.size = 40
    pen = QPointingDevice(
        "test pen", 7, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3,
    )  # fmt: skip
    for kind, x in ((QEvent.Type.TabletPress, 60), (QEvent.Type.TabletMove, 240)):
        where = QPointF(on_screen(x, 100))
        event = QTabletEvent(
            kind, pen, where, where, 0.5, 0, 0, 0, 0, 0, NO_KEYS, Left, Left
        )  # fmt: skip
        QApplication.sendEvent(canvas, event)
        assert event.isAccepted()
    release = QTabletEvent(
        QEvent.Type.TabletRelease, pen, where, where, 0, 0, 0, 0, 0, 0, NO_KEYS, Left, Left
    )  # fmt: skip
    QApplication.sendEvent(canvas, release)
    column = [y for y in range(H) if at(layer, 150, y) > 127]
    assert len(column) == pytest.approx(20, abs=2)  # half the size at half the pressure
    assert layer.can_undo() and not layer.can_redo()


# ------------------------------------------------------------ history and whole-mask edits


def test_undo_and_redo_go_one_stroke_at_a_time_and_restore_exact_bytes(qtbot, canvas, layer):
    empty = raw(layer)
    drag(qtbot, canvas, [(30, 30), (200, 120)])
    first = raw(layer)
    layer.brush.hardness = 0.3
    drag(qtbot, canvas, [(40, 150), (260, 20)])
    second = raw(layer)
    layer.undo()
    assert raw(layer) == first and layer.can_redo()
    layer.undo()
    assert raw(layer) == empty and not layer.can_undo()
    layer.redo()
    assert raw(layer) == first
    layer.redo()
    assert raw(layer) == second and not layer.can_redo()
    layer.undo()
    drag(qtbot, canvas, [(10, 10)])  # a new stroke drops what could be redone
    assert not layer.can_redo()


def test_clear_invert_and_fill_are_one_step_each(qtbot, canvas, layer):
    drag(qtbot, canvas, [(20, 50), (250, 50)])
    stroke = raw(layer)
    layer.invert()
    assert at(layer, 100, 50) == 0 and at(layer, 100, 150) == 255
    layer.fill()
    assert raw(layer) == bytes([255]) * len(stroke)  # 300 px rows: no padding
    layer.clear()
    assert layer.is_empty()
    for _ in range(3):
        layer.undo()
    assert raw(layer) == stroke


def test_the_history_stays_bounded(monkeypatch):
    big = MaskLayer(2048, 2048)
    big.begin_stroke(QPointF(100, 100))
    big.stroke_to(QPointF(140, 100))
    big.end_stroke()
    assert big.history_bytes() < 64 * 1024  # a small stroke keeps its rectangle only
    for _ in range(mask_layer.HISTORY_STEPS + 20):
        big.invert()
    assert big.history_bytes() <= mask_layer.HISTORY_BYTES
    assert len(big._history) == mask_layer.HISTORY_STEPS
    # Incompressible masks hit the byte cap; the newest step can still be undone.
    monkeypatch.setattr(mask_layer, "HISTORY_BYTES", 1_000_000)
    small = MaskLayer(300, 200)
    for seed in range(30):
        small.set_image(noise(300, 200, seed))
    assert small.history_bytes() <= 1_000_000
    last = raw(small)
    small.undo()
    small.redo()
    assert raw(small) == last


def noise(width: int, height: int, seed: int) -> QImage:
    import random

    rng = random.Random(seed)
    image = QImage(width, height, QImage.Format.Format_Grayscale8)
    for y in range(height):
        image.scanLine(y)[:width] = bytes(rng.getrandbits(8) for _ in range(width))
    return image


def test_a_mask_image_is_scaled_to_the_layer_and_saves_as_grey_png(canvas, layer):
    white = QImage(60, 40, QImage.Format.Format_RGB32)
    white.fill(Qt.GlobalColor.white)
    layer.set_image(white)
    assert at(layer, 299, 199) == 255 and layer.can_undo()
    alpha = QImage(W, H, QImage.Format.Format_ARGB32)
    alpha.fill(QColor(10, 20, 30, 0))
    alpha.setPixelColor(7, 9, QColor(10, 20, 30, 200))
    layer.set_image(alpha.convertToFormat(QImage.Format.Format_Alpha8))
    assert at(layer, 7, 9) == 200 and at(layer, 8, 9) == 0
    png = QImage.fromData(layer.png_bytes())
    assert png.format() == QImage.Format.Format_Grayscale8 and png.size() == QSize(W, H)


# ------------------------------------------------------------ the canvas around the brush


def test_middle_drag_and_space_drag_pan_without_painting(qtbot, canvas, layer):
    before = canvas.scene_rect()
    drag(qtbot, canvas, [(100, 100), (120, 115)], button=Middle)
    assert canvas.scene_rect().topLeft() - before.topLeft() == QPointF(40, 30)
    canvas.setFocus()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Left, NO_KEYS, QPoint(300, 200))
    qtbot.mouseMove(canvas, QPoint(290, 180))
    qtbot.mouseRelease(canvas, Left, NO_KEYS, QPoint(290, 180))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.scene_rect().topLeft() - before.topLeft() == QPointF(30, 10)
    assert layer.is_empty() and not layer.can_undo()


def test_without_a_layer_the_canvas_pans_again(qtbot, canvas, layer):
    canvas.set_mask_layer(None)
    before = canvas.scene_rect()
    drag(qtbot, canvas, [(100, 100), (110, 100), (120, 100)])
    assert canvas.scene_rect().left() - before.left() == 40
    assert layer.is_empty()


def test_ctrl_z_on_the_canvas_undoes_the_mask_not_the_window(qtbot, canvas, layer):
    window = QWidget()
    qtbot.addWidget(window)
    window_undo = QAction("Undo Delete", window)
    window_undo.setShortcut(QKeySequence.StandardKey.Undo)
    window.addAction(window_undo)
    triggered: list[bool] = []
    window_undo.triggered.connect(lambda: triggered.append(True))
    QVBoxLayout(window).addWidget(canvas)
    window.show()
    qtbot.waitExposed(window)
    drag(qtbot, canvas, [(50, 50), (60, 60)])
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert layer.is_empty() and not triggered
    shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(canvas, Qt.Key.Key_Z, shift)
    assert not layer.is_empty()
    canvas.setParent(None)  # the fixture closes it


def test_the_brush_cursor_and_the_overlay_are_drawn(qtbot, canvas, layer):
    layer.brush.size = 40  # 80 screen pixels across at 2×
    drag(qtbot, canvas, [(20, 20), (60, 20)])
    qtbot.mouseMove(canvas, on_screen(150, 100))
    shot = canvas.grab().toImage()
    tinted, plain = shot.pixelColor(on_screen(40, 20)), shot.pixelColor(on_screen(40, 120))
    assert tinted.red() > plain.red() + 60  # magenta over green
    ring = [
        shot.pixelColor(on_screen(150, 100) + QPoint(40 + d, 0)).lightness() for d in (-1, 0, 1)
    ]
    inside = shot.pixelColor(on_screen(150, 100) + QPoint(30, 0)).lightness()
    assert max(ring) > inside + 60  # the light ring at the brush's radius


def test_the_tools_edit_the_layer(qtbot, canvas, layer):
    tools = MaskTools()
    qtbot.addWidget(tools)
    assert not tools.isEnabled()
    tools.set_layer(layer)
    assert tools.size_box.value() == 10 and not tools.undo_button.isEnabled()
    tools.size_box.setValue(64)
    tools.hardness_slider.setValue(25)
    tools.eraser_button.click()
    assert (layer.brush.size, layer.brush.hardness, layer.brush.erase) == (64, 0.25, True)
    with qtbot.waitSignal(tools.opacity_changed) as signal:
        tools.opacity_slider.setValue(70)
    assert signal.args == [0.7]
    tools.fill_button.click()
    assert at(layer, 5, 5) == 255 and tools.undo_button.isEnabled()
    tools.show()
    tools.fill_button.setFocus()
    qtbot.keyClick(tools.fill_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert layer.is_empty() and tools.redo_button.isEnabled()
    tools.invert_button.click()
    tools.clear_button.click()
    assert layer.is_empty() and not tools.redo_button.isEnabled()
    tools.set_layer(None)
    assert not tools.isEnabled()
