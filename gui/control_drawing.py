"""Drawing a control unit's image with the mask brush: scribbles and rough segment maps.

Draw… on a unit's picker opens a blank black layer of Create's size, or, when the unit's
image is a drawing made here, that drawing to go on with. The user paints white with
the inpainting brush (gui/mask_layer.py, gui/mask_painting.py, gui/mask_tools.py): the
same strokes, eraser, undo and redo. The layer shows as itself, white on black: a white
film at full opacity over a black picture is exactly its grey image, and it keeps the
brush's rectangle-by-rectangle repaint.

OK writes the drawing as a grey PNG under the data folder's drawings/ (a new name each
time: a recipe that names an older drawing keeps its file and its sha256), written to a
temporary file first and renamed, so a half-written PNG is never seen. Cancel writes
nothing.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from engine.api.catalogue import user_data_dir
from engine.atomic import write_bytes_atomic
from gui.canvas import ImageCanvas
from gui.mask_layer import MaskLayer
from gui.mask_tools import MaskTools
from gui.viewmodels.fields import Field

DRAWINGS = "drawings"
WHITE = QColor(255, 255, 255)
SCRIBBLE_SHARE = 40  # the brush is the shorter side / this: a pen line at any size
MIN_SCRIBBLE = 2  # px
SCRIBBLE_HARDNESS = 1.0
TOOL_TIPS = {  # the mask's words, said for a drawing
    "brush_button": "Paint white (left-drag)",
    "eraser_button": "Paint black: erase (or right-drag / Alt+drag with the brush)",
    "clear_button": "Start again: all black",
    "invert_button": "Swap white and black",
    "fill_button": "All white",
}


def drawings_dir() -> Path:
    return user_data_dir() / DRAWINGS


def is_drawing(path: str) -> bool:
    """Whether `path` is a drawing made here (one to go on with, not a photo to paint over)."""
    return bool(path) and Path(path).parent.resolve() == drawings_dir().resolve()


def save_drawing(png: bytes) -> Path:
    """Write `png` under drawings/ with a new name, atomically; the path written."""
    folder = drawings_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = _new_name(folder)
    write_bytes_atomic(target, png)
    return target


def _new_name(folder: Path) -> Path:
    """A name no file has: the time (short enough for the picker to show whole) and a
    random tail, for two drawings saved in one second."""
    while True:
        path = folder / f"drawing-{time.strftime('%y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}.png"
        if not path.exists():
            return path


class DrawingDialog(QDialog):
    """A black layer to paint white on; `saved` is the PNG written on OK."""

    def __init__(self, size: QSize, start: QImage | None = None, parent=None) -> None:
        super().__init__(parent)
        self.saved: Path | None = None
        if start is not None:
            size = start.size()  # a drawing goes on at its own size
        self.setWindowTitle(f"Draw a control image ({size.width()} × {size.height()})")
        self.layer = MaskLayer(size.width(), size.height(), self)
        line = max(MIN_SCRIBBLE, round(min(size.width(), size.height()) / SCRIBBLE_SHARE))
        self.layer.brush.size, self.layer.brush.hardness = line, SCRIBBLE_HARDNESS
        if start is not None:
            self.layer.start_from(start)
        self.canvas = ImageCanvas()
        black = QImage(size, QImage.Format.Format_RGB32)
        black.fill(Qt.GlobalColor.black)
        self.canvas.set_image(black)
        self.canvas.set_mask_layer(self.layer, opacity=1.0, color=WHITE)
        self.tools = MaskTools()
        self.tools.set_layer(self.layer)
        self.tools.hide_opacity()
        for name, tip in TOOL_TIPS.items():
            getattr(self.tools, name).setToolTip(tip)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._lay_out()
        self.canvas.setFocus()  # Ctrl+Z undoes a stroke from the start

    def _lay_out(self) -> None:
        side = QVBoxLayout()
        side.addWidget(self.tools)
        side.addStretch(1)
        tools = QWidget()
        tools.setLayout(side)
        tools.setFixedWidth(max(260, tools.sizeHint().width()))
        row = QHBoxLayout()
        row.addWidget(self.canvas, 1)
        row.addWidget(tools)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.buttons)
        self.resize(900, 640)

    def accept(self) -> None:
        """Save, then close; a failed write says why and leaves the drawing open."""
        self.layer.end_stroke()
        try:
            self.saved = save_drawing(self.layer.png_bytes())
        except OSError as exc:
            QMessageBox.warning(
                self,
                "Drawing not saved",
                f"The drawing could not be written to {drawings_dir()}: {exc.strerror or exc}. "
                "Free some space or check the folder's permissions, then press OK again.",
            )
            return
        super().accept()


def open_drawing(parent: QWidget, field: Field, size: QSize) -> DrawingDialog:
    """Draw… : a dialog on `field`'s drawing (or a blank `size` layer); OK sets the field.

    The drawing is read here, on the button press; a drawing that cannot be read any
    more (deleted) starts blank rather than refusing.
    """
    start = QImage(field.value) if is_drawing(field.value) else QImage()
    dialog = DrawingDialog(size, None if start.isNull() else start, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(lambda: field.set(str(dialog.saved)))
    dialog.open()
    return dialog
