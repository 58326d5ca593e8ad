"""Stars (keys 0-5) and boards (B) wherever a picture is: the gallery's grid (on its
selection, in bulk), the canvas and the details dock (on the picture shown).

One `Marker` does the work for every view: writes go through the gallery's searcher
(one thread, in order with searches, so a search asked for after a change sees it) and
reads (the board names for the dialog) through a StoreReader, so the GUI thread never
reads the index or a file for a key press. Each view gets the same actions from
`mark_actions`, bound to a function naming the pictures that view has current.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from engine.interface import Gallery
from gui import gallery_boards
from gui.details_panel import DetailsPanel
from gui.gallery_search import GallerySearcher
from gui.store_reads import StoreReader

Paths = Callable[[], list[str]]


class Marker(QObject):
    boards_read = Signal(list)  # the board names, read off the GUI thread

    def __init__(
        self, searcher: GallerySearcher, store: Callable[[], Gallery], parent: QObject
    ) -> None:
        super().__init__(parent)
        self.searcher, self.store = searcher, store
        self.reader = StoreReader(self)

    def set_stars(self, paths: list[str], stars: int) -> None:
        if paths:
            store = self.store()
            self.searcher.write(lambda: store.set_stars(paths, stars))

    def add_to_board(self, paths: list[str], parent: QWidget | None = None) -> None:
        """Ask which board (the names read first, off the GUI thread); add `paths`."""
        if paths:
            store = self.store()
            self.reader.read(store.boards, lambda boards: self._add(paths, boards, parent), [])

    def _add(self, paths: list[str], boards: list[str], parent: QWidget | None) -> None:
        name = gallery_boards.ask_board(boards, len(paths), parent)
        if name:
            store = self.store()
            self.searcher.write(lambda: store.add_to_board(paths, name))

    def remove_from_board(
        self, paths: list[str], name: str | None = None, parent: QWidget | None = None
    ) -> None:
        """Take `paths` off the board `name` (None: ask which, from the boards read)."""
        if not paths:
            return
        store = self.store()
        if name:
            self.searcher.write(lambda: store.remove_from_board(paths, name))
            return
        self.reader.read(store.boards, lambda boards: self._leave(paths, boards, parent), [])

    def _leave(self, paths: list[str], boards: list[str], parent: QWidget | None) -> None:
        name = gallery_boards.ask_board_to_leave(boards, len(paths), parent)
        if name:
            self.remove_from_board(paths, name)

    def fetch_boards(self) -> None:
        """Read the board names off the GUI thread; `boards_read` brings them."""
        self.reader.read(self.store().boards, self.boards_read.emit, [])


def star_actions(
    widget: QWidget, paths: Paths, marker: Marker, context: Qt.ShortcutContext
) -> list[QAction]:
    """No Stars … 5 Stars on keys 0-5, acting on `paths()` when `widget` has the focus."""
    actions = []
    for stars in range(6):
        title = f"{stars} Star{'s' if stars != 1 else ''}" if stars else "No Stars"
        action = QAction(title, widget)
        action.setShortcut(QKeySequence(str(stars)))
        action.setShortcutContext(context)
        action.triggered.connect(lambda _c=False, n=stars: marker.set_stars(paths(), n))
        actions.append(action)
    return actions


def board_actions(
    widget: QWidget, paths: Paths, marker: Marker, context: Qt.ShortcutContext
) -> list[QAction]:
    """Add to Board… (B) and Remove from Board…, on `paths()`."""
    add = QAction("Add to Board…", widget)
    add.setShortcut(QKeySequence("B"))
    add.setShortcutContext(context)
    add.triggered.connect(lambda: marker.add_to_board(paths(), widget))
    leave = QAction("Remove from Board…", widget)
    leave.triggered.connect(lambda: marker.remove_from_board(paths(), None, widget))
    return [add, leave]


def mark_actions(
    widget: QWidget,
    paths: Paths,
    marker: Marker,
    context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
) -> list[QAction]:
    """Every mark action, added to `widget` (its keys work while it or a child has the
    focus; its context menu lists them when it uses ActionsContextMenu)."""
    actions = star_actions(widget, paths, marker, context) + board_actions(
        widget, paths, marker, context
    )
    widget.addActions(actions)
    return actions


def connect_shown_picture(
    marker: Marker, paths: Paths, canvas: QWidget, details: DetailsPanel
) -> None:
    """Keys 0-5 and B on the canvas and in the details dock act on the picture shown
    (`paths()`); the dock's Stars row and its boards' × write through `marker` too."""
    mark_actions(canvas, paths, marker, Qt.ShortcutContext.WidgetShortcut)
    mark_actions(details, paths, marker)
    details.stars_chosen.connect(lambda path, stars: marker.set_stars([path], stars))
    details.board_left.connect(lambda path, board: marker.remove_from_board([path], board))
