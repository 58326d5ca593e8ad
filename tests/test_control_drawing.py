"""Draw… on a control unit's picker: real widgets, real mouse events, the PNG read back
with PIL (an independent reader).

Where a stroke lands is computed here from the canvas widget's size alone: a W×H picture
fitted into the widget is scaled by min(width / W, height / H) and centred, so picture
point (x, y) is at the widget's centre + (x − W/2, y − H/2) × scale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QDialogButtonBox

from engine.api.parts import ImageRef
from gui import control_drawing

W, H = 320, 192  # Create's size for these tests (not the 512² default: the size is passed)
Y = 96  # the horizontal stroke's row
X0, X1 = 40, 280
BRUSH = 5  # the dialog's scribble brush at this size (192 / 40), hard
Left = Qt.MouseButton.LeftButton
NO_KEYS = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def panel(qtbot, data_dir):
    from gui.create_panel import CreatePanel

    panel = CreatePanel()
    qtbot.addWidget(panel)
    panel.vm.width.set(W)
    panel.vm.height.set(H)
    panel.control.set_expanded(True)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


@pytest.fixture
def unit_box(panel):
    box = panel.control.units[0]
    box.setChecked(True)  # the unit's "Enable": its controls answer only then
    return box


def open_dialog(qtbot, box):
    qtbot.mouseClick(box.picker.draw_button, Left)
    dialog = box.drawing
    assert dialog is not None and dialog.isVisible()
    qtbot.waitExposed(dialog)
    return dialog


def on_screen(canvas, size: tuple[int, int], x: float, y: float) -> QPoint:
    width, height = size
    scale = min(canvas.width() / width, canvas.height() / height)
    return QPoint(
        round(canvas.width() / 2 + (x - width / 2) * scale),
        round(canvas.height() / 2 + (y - height / 2) * scale),
    )


def drag(qtbot, dialog, points, size=(W, H)) -> None:
    canvas = dialog.canvas
    qtbot.mousePress(canvas, Left, NO_KEYS, on_screen(canvas, size, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, on_screen(canvas, size, *point))
    qtbot.mouseRelease(canvas, Left, NO_KEYS, on_screen(canvas, size, *points[-1]))


def press(qtbot, dialog, which) -> None:
    qtbot.mouseClick(dialog.buttons.button(which), Left)


def read_png(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_picker_has_draw_among_two_columns_of_buttons(unit_box, panel):
    picker = unit_box.picker
    layout = picker.buttons
    where = {
        layout.itemAt(i).widget().text(): layout.getItemPosition(i)[:2]
        for i in range(layout.count())
    }
    assert where == {"Open…": (0, 0), "Draw…": (0, 1), "Use result": (1, 0), "Clear": (1, 1)}
    assert not panel.control.ip.picker.draw_button.isVisibleTo(panel)  # units' only


def test_a_drawn_stroke_is_saved_as_a_png_of_creates_size(qtbot, unit_box, data_dir):
    dialog = open_dialog(qtbot, unit_box)
    assert dialog.layer.size().width() == W and dialog.layer.size().height() == H
    assert dialog.layer.is_empty() and dialog.layer.brush.size == BRUSH
    drag(qtbot, dialog, [(X0, Y), (160, Y), (X1, Y)])
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert unit_box.drawing is None  # closed

    path = Path(unit_box.unit.image.value)
    assert path.parent == data_dir / "drawings" and path.suffix == ".png"
    assert files(data_dir / "drawings") == [path.name]  # no temporary file left behind
    pixels = read_png(str(path))
    assert pixels.shape == (H, W)
    assert (pixels[Y, X0 : X1 + 1] == 255).all()  # white along the whole stroke
    far = np.ones_like(pixels, dtype=bool)
    far[Y - BRUSH : Y + BRUSH + 1, X0 - BRUSH : X1 + BRUSH + 1] = False
    assert (pixels[far] == 0).all()  # black away from it


def test_cancel_leaves_the_field_and_the_folder_as_they_were(qtbot, unit_box, data_dir):
    unit_box.unit.image.set("")
    dialog = open_dialog(qtbot, unit_box)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)
    assert unit_box.drawing is None  # closed
    assert unit_box.unit.image.value == ""
    assert files(data_dir / "drawings") == []


def test_a_drawing_reopened_goes_on_and_keeps_the_old_file(qtbot, unit_box, panel, data_dir):
    dialog = open_dialog(qtbot, unit_box)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    first = unit_box.unit.image.value
    before = Path(first).read_bytes()
    panel.vm.width.set(512)  # a drawing goes on at its own size, not Create's new one

    dialog = open_dialog(qtbot, unit_box)
    layer = dialog.layer
    assert (layer.size().width(), layer.size().height()) == (W, H)
    assert layer.image().pixelColor(160, Y) == QColor(255, 255, 255)  # the stroke is there
    assert not layer.can_undo()  # Undo stops at the drawing it went on with
    drag(qtbot, dialog, [(200, 20), (200, 170)])
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)

    second = unit_box.unit.image.value
    assert second != first and Path(first).read_bytes() == before  # a recipe's file stays
    pixels = read_png(second)
    assert pixels.shape == (H, W)
    assert pixels[Y, 100] == 255 and pixels[100, 200] == 255  # both strokes
    assert pixels[20, 100] == 0


def test_undo_removes_the_stroke_and_redo_brings_it_back(qtbot, unit_box):
    dialog = open_dialog(qtbot, unit_box)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    tools = dialog.tools
    assert tools.undo_button.isEnabled()
    qtbot.mouseClick(tools.undo_button, Left)
    assert dialog.layer.is_empty()
    qtbot.mouseClick(tools.redo_button, Left)
    assert dialog.layer.image().pixelColor(160, Y) == QColor(255, 255, 255)
    dialog.canvas.setFocus()
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dialog.layer.is_empty()
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert (read_png(unit_box.unit.image.value) == 0).all()


def test_erasing_and_clear_paint_black(qtbot, unit_box):
    dialog = open_dialog(qtbot, unit_box)
    dialog.layer.fill()
    qtbot.mouseClick(dialog.tools.eraser_button, Left)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    assert dialog.layer.image().pixelColor(160, Y) == QColor(0, 0, 0)
    assert dialog.layer.image().pixelColor(160, 20) == QColor(255, 255, 255)
    qtbot.mouseClick(dialog.tools.clear_button, Left)
    assert dialog.layer.is_empty()
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)


def test_the_canvas_shows_the_drawing_white_on_black(qtbot, unit_box):
    dialog = open_dialog(qtbot, unit_box)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    canvas = dialog.canvas
    shot = canvas.grab().toImage()
    ratio = shot.width() / canvas.width()
    on, off = on_screen(canvas, (W, H), 160, Y), on_screen(canvas, (W, H), 160, 20)
    assert shot.pixelColor(on * ratio) == QColor(255, 255, 255)  # not a tinted film
    assert shot.pixelColor(off * ratio) == QColor(0, 0, 0)
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)


def test_an_opened_photo_is_not_painted_over(qtbot, unit_box, tmp_path):
    photo = tmp_path / "photo.png"
    picture = QImage(64, 48, QImage.Format.Format_RGB32)
    picture.fill(QColor(200, 200, 200))
    assert picture.save(str(photo))
    unit_box.unit.image.set(str(photo))
    dialog = open_dialog(qtbot, unit_box)
    assert (dialog.layer.size().width(), dialog.layer.size().height()) == (W, H)
    assert dialog.layer.is_empty()
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)
    assert unit_box.unit.image.value == str(photo)


def test_a_failed_write_says_why_and_keeps_the_drawing_open(qtbot, unit_box, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(blocker))
    said: list[str] = []
    monkeypatch.setattr(
        control_drawing.QMessageBox, "warning", lambda _p, _t, text: said.append(text)
    )
    dialog = open_dialog(qtbot, unit_box)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert unit_box.drawing is dialog and dialog.isVisible()
    assert unit_box.unit.image.value == ""
    assert len(said) == 1 and "could not be written" in said[0]
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)


def test_the_recipe_names_the_drawing_and_its_sha256(qtbot, unit_box, panel, tmp_path):
    for name, field in (("dream", panel.vm.model), ("scribble", unit_box.unit.model)):
        (tmp_path / f"{name}.safetensors").write_bytes(b"")
        field.set(str(tmp_path / f"{name}.safetensors"))
    dialog = open_dialog(qtbot, unit_box)
    drag(qtbot, dialog, [(X0, Y), (X1, Y)])
    press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    path = unit_box.unit.image.value
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert panel.build_request().control[0].image == ImageRef(path, digest)
