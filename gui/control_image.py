"""A control image picker (issue 22): a thumbnail, the file's name, and Open…, Use result
and Clear (and Draw… where its owner can draw one, gui/control_drawing.py); an image
file dropped on it is taken too. Bound to a path Field of
gui/viewmodels/control.py; the picture is read when the path changes (a user's action or
a recipe reused), never on a move."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QImageReader, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api.imagefiles import IMAGES_ONLY_FILTER
from gui.compare_view import dropped_images
from gui.start_folders import Purpose, remember, start_folder
from gui.viewmodels.fields import Field

THUMB_SIDE = 64
EMPTY = "Open or drop an image."
EMPTY_DRAWABLE = "Open, draw or drop an image."


class ImagePicker(QWidget):
    use_result_requested = Signal()  # the section answers with the canvas's file
    draw_requested = Signal()  # the section opens its drawing dialog

    def __init__(self, field: Field, title: str, drawable: bool = False) -> None:
        super().__init__()
        self.field, self.title = field, title
        self.thumb = QLabel("No image")
        self.thumb.setFixedSize(THUMB_SIDE, THUMB_SIDE)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet("border: 1px solid #555; color: #8a8a8a; font-size: 9px;")
        self.empty = EMPTY_DRAWABLE if drawable else EMPTY
        self.name = QLabel(self.empty)
        self.name.setWordWrap(True)
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.ask_file)
        self.draw_button = QPushButton("Draw…", self)  # parented: laid out or not
        self.draw_button.setVisible(drawable)
        self.draw_button.setToolTip("Draw the image with a brush: white on black (a scribble)")
        self.draw_button.clicked.connect(self.draw_requested)
        self.result_button = QPushButton("Use result")
        self.result_button.setToolTip("The image the canvas shows")
        self.result_button.clicked.connect(self.use_result_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(lambda: field.set(""))
        shown = [self.open_button, self.result_button, self.clear_button]
        if drawable:
            shown.insert(1, self.draw_button)
        self.buttons = buttons = QGridLayout()  # two columns: the section stays as narrow as Create
        for i, button in enumerate(shown):
            buttons.addWidget(button, i // 2, i % 2)
        text = QVBoxLayout()
        text.addWidget(self.name)
        text.addLayout(buttons)
        self.row = row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        self.drops = ImageDrops(self, field.set)
        field.changed.connect(self.show_path)
        self.show_path(field.value)

    def add_beside(self, widget: QWidget) -> None:
        """A second thumbnail beside the image's (a control unit's map)."""
        self.row.insertWidget(1, widget, 0, Qt.AlignmentFlag.AlignTop)

    def ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.title, str(start_folder(Purpose.OPEN_IMAGE)), IMAGES_ONLY_FILTER
        )
        if path:
            remember(Purpose.OPEN_IMAGE, path)
            self.field.set(str(Path(path).absolute()))

    def show_path(self, path: str) -> None:
        self.thumb.clear()
        if not path:
            self.thumb.setText("No image")
            self.name.setText(self.empty)
            self.name.setToolTip("")
            return
        reader = QImageReader(path)
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid():
            reader.setScaledSize(size.scaled(THUMB_SIDE - 2, THUMB_SIDE - 2, Qt.KeepAspectRatio))
        image = reader.read()
        if image.isNull():
            self.thumb.setText("Missing")
            self.name.setText(f"{Path(path).name}\n(cannot be read)")
        else:
            self.thumb.setPixmap(QPixmap.fromImage(image))
            self.name.setText(f"{Path(path).name}\n{size.width()}×{size.height()}")
        self.name.setToolTip(path)


class ImageDrops(QObject):
    """An image file dropped on the widget goes to `take` (its absolute path)."""

    def __init__(self, widget: QWidget, take) -> None:
        super().__init__(widget)
        self.take = take
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_images(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop and (files := dropped_images(event.mimeData())):
            event.acceptProposedAction()
            self.take(str(files[0].absolute()))
            return True
        return False
