"""PNG Info without side effects: a picture file dropped on the window (the canvas, the
docks, anywhere no widget takes it for itself) is shown on the canvas with its
parameters in the details dock. Create is not changed: *Use these parameters* is a
separate step. Widgets that take a drop for their own purpose keep it: Create's source
section, a control unit's image, the Upscale list, the Lab's reconstruct page.

The file is read on a pool thread (gui/picture_info.py): the GUI thread never waits on
a disk read for a drop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow, QStackedWidget

from gui.canvas import ImageCanvas
from gui.compare_view import dropped_images
from gui.mode_panel import ModePanel
from gui.picture_info import PictureInfo, PictureReader
from gui.result_view import ResultView


class DropWindow(Protocol):
    canvas: ImageCanvas
    view: ResultView
    views: QStackedWidget
    gallery_panel: ModePanel

    def show_panel(self, panel: ModePanel) -> None: ...


class WindowDrops(QObject):
    """Accepts image files dropped on `window`; shows the first as PNG Info."""

    def __init__(self, window: DropWindow) -> None:
        assert isinstance(window, QMainWindow)
        super().__init__(window)
        self.window = window
        self.reader = PictureReader(self)
        self.reader.read.connect(self._show)
        self.pending: Path | None = None  # the last file dropped, until it is shown
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_images(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop and (files := dropped_images(event.mimeData())):
            event.acceptProposedAction()
            self.open(files[0])
            return True
        return False

    def open(self, path: Path) -> None:
        """Read `path` off the GUI thread, then show it (the last one dropped wins)."""
        self.pending = Path(path)
        self.reader.open(self.pending)

    def _show(self, info: PictureInfo, image: QImage) -> None:
        if info.path != self.pending:
            return  # a later drop is on its way
        self.pending = None
        window = self.window
        if window.views.currentWidget() is not window.canvas:  # the Lab's History table
            window.show_panel(window.gallery_panel)
        window.view.show_dropped(info, image)
