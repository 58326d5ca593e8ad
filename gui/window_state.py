"""The window as the user left it, and room for the canvas at any window size.

Saved at close into settings.ini: the geometry and dock layout, the mode, and the image
on the canvas (the gallery file; shown again at the next start if it still exists, with
its details). Shrinking the window takes width from the side areas before the canvas
gets squeezed, down to their minimums: the canvas is what the user came for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QSplitter

from gui.details_panel import DetailsDock
from gui.mode_panel import ModePanel
from gui.queue_dock import QueueDock
from gui.settings import AppSettings
from gui.viewmodels.results import ResultsModel

DOCK_SHARE = 0.25  # the most of the window's width the right docks keep on a resize
PANEL_SHARE = 0.3  # and the mode panel (the gallery's grid excepted)
PANEL_MIN = 320  # the mode panels' own minimum (their forms)
SETTLE_MS = 100  # after the last resize event: Qt's dock layout has settled by then

# What this module uses of the main window (MainWindow has it all; typed here so that
# this module does not import the window that imports it).


class SavedWindow(Protocol):
    """What save() and restore() keep and put back."""

    settings: AppSettings
    modes: list[ModePanel]
    results: ResultsModel

    @property
    def mode(self) -> str: ...

    @property
    def shown_file(self) -> str | None: ...

    @property
    def showing_preview(self) -> bool: ...

    def set_mode(self, index: int) -> None: ...

    def open_image(self, path: str) -> None: ...

    def saveGeometry(self) -> QByteArray: ...  # noqa: N802

    def restoreGeometry(self, geometry: QByteArray) -> bool: ...  # noqa: N802

    def saveState(self) -> QByteArray: ...  # noqa: N802

    def restoreState(self, state: QByteArray) -> bool: ...  # noqa: N802

    def normalGeometry(self) -> QRect: ...  # noqa: N802

    def isMaximized(self) -> bool: ...  # noqa: N802

    def resize(self, size: QSize) -> None: ...


class RoomWindow(Protocol):
    """What keeping the canvas its room looks at and resizes. The window is also the Qt
    parent of the filter and the timer's context."""

    queue_dock: QueueDock
    details_dock: DetailsDock
    splitter: QSplitter

    @property
    def current_panel(self) -> ModePanel: ...

    def width(self) -> int: ...

    def dockWidgetArea(self, dock: QDockWidget) -> Qt.DockWidgetArea: ...  # noqa: N802

    def resizeDocks(  # noqa: N802
        self, docks: list[QDockWidget], sizes: list[int], orientation: Qt.Orientation
    ) -> None: ...

    def installEventFilter(self, watcher: QObject) -> None: ...  # noqa: N802


def save(window: SavedWindow) -> None:
    settings = window.settings
    settings.set_ui_value("window/geometry", window.saveGeometry())
    settings.set_ui_value("window/size", window.normalGeometry().size())
    settings.set_ui_value("window/docks", window.saveState())
    settings.set_ui_value("window/mode", window.mode)
    settings.set_ui_value("window/last_image", shown_file(window) or "")


def restore(window: SavedWindow) -> None:
    """Put back what save() kept; anything missing or unreadable keeps the defaults."""
    settings = window.settings
    geometry = settings.ui_value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)  # the position, the screen, maximised or not
    size = settings.ui_value("window/size")
    if isinstance(size, QSize) and size.isValid() and not window.isMaximized():
        window.resize(size)  # as it was: restoreGeometry may shrink it to a guessed screen
    docks = settings.ui_value("window/docks")
    if isinstance(docks, QByteArray) and not docks.isEmpty():
        window.restoreState(docks)
    titles = [panel.title for panel in window.modes]
    mode = settings.ui_value("window/mode")
    if mode in titles:
        window.set_mode(titles.index(mode))
    last = settings.ui_value("window/last_image")
    if isinstance(last, str) and last and Path(last).is_file():
        window.open_image(last)


def shown_file(window: SavedWindow) -> str | None:
    """The gallery file the canvas shows (a batch: its first image), if there is one."""
    if window.shown_file:
        return window.shown_file
    shown = window.results.shown
    saved = [image.path for image in (shown.images if shown else ()) if image.path]
    return saved[0] if saved and not window.showing_preview else None


def keep_canvas_room(window: RoomWindow) -> None:
    """After a resize: side areas wider than their share of the window (docks dragged
    wide, a window made smaller) are narrowed, never below their minimums, so that the
    canvas is not the only thing that shrinks."""
    width = window.width()
    right = [
        d
        for d in (window.queue_dock, window.details_dock)
        if d.isVisible() and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
    ]
    # Qt ignores a size below a dock's minimum instead of stopping at it.
    least = max((d.minimumSizeHint().width() for d in right), default=0)
    dock_share = max(least, int(width * DOCK_SHARE))
    if right and max(d.width() for d in right) > dock_share:
        window.resizeDocks(right, [dock_share] * len(right), Qt.Orientation.Horizontal)
    # The splitter gets the docks' width back only once laid out: narrow it after that.
    QTimer.singleShot(SETTLE_MS, window, lambda: _fit_panel(window))  # not once closed


def _fit_panel(window: RoomWindow) -> None:
    """A control panel gets at least what its form needs (the splitter would cut its
    controls off: its first sizes are guessed before the form is laid out), and at most
    its share when it is wider than that."""
    width = window.width()
    left, view = window.splitter.sizes()
    panel = window.current_panel
    if not panel.generates:  # the gallery wants room
        return
    needs = panel.minimumSizeHint().width()
    panel_share = max(PANEL_MIN, needs, int(width * PANEL_SHARE))
    fitted = max(needs, min(left, panel_share))
    if fitted != left and view + left - fitted > 0:
        window.splitter.setSizes([fitted, view + left - fitted])


class CanvasRoom(QObject):
    """Runs keep_canvas_room once a resize has settled (a drag sends many events, and
    a dock resized while Qt still lays out the last one is laid out again over it)."""

    def __init__(self, window: RoomWindow) -> None:
        super().__init__(window)
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(lambda: keep_canvas_room(window))
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self._timer.start()
        return False
