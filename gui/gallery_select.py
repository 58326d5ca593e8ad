"""Selecting a picture in the gallery grid by its path, wherever its row is.

A row in a loaded page is selected at once. Any other (90,000 rows down after "Show in
gallery", or a picture Undo just restored) is asked of the index on the searcher's
thread: one count of the pictures listed before it (engine.store GalleryStore.row_of).
That runs after the listings asked before it, so the row answers the newest listing;
the grid then selects it and scrolls to it, and its page is read as any scrolled-to page.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QObject, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from gui.gallery_model import GalleryModel, PathRole
from gui.gallery_search import GallerySearcher


class PathSelector(QObject):
    followed = Signal(str)  # a path selected from the index's answer, its row not read yet

    def __init__(
        self,
        view: QListView,
        model: GalleryModel,
        searcher: GallerySearcher,
        query: Callable[[], str],
    ) -> None:
        super().__init__(view)
        self.view, self.model, self.searcher, self.query = view, model, searcher, query
        self.wanted: tuple[str, bool] | None = None  # a path whose row is asked for, follow
        self._otherwise: Callable[[], None] | None = None  # called if it is not listed
        searcher.row_found.connect(self._row_found)
        view.selectionModel().currentChanged.connect(self._moved)

    def select(self, path: str, follow: bool, otherwise: Callable[[], None] | None) -> bool:
        """True when `path` is selected now (its row is loaded); else its row is asked for,
        and `otherwise` called if the listing does not hold it."""
        if self.select_loaded(path, follow):
            self.wanted = None
            return True
        self.wanted, self._otherwise = (path, follow), otherwise
        self.searcher.find_row(self.model.store, self.query(), path)
        return False

    def select_loaded(self, path: str, follow: bool) -> bool:
        row = self.model.row_of(path)
        if row is None:
            return False
        self._select_row(row, follow)
        return True

    def _select_row(self, row: int, follow: bool) -> None:
        index, selection = self.model.index(row, 0), self.view.selectionModel()
        if not follow:  # the canvas stays: the current row changes without a signal
            selection.blockSignals(True)
        # That row alone, whatever keys are held: the view's own setCurrentIndex reads
        # the keyboard (Ctrl held would add it to the rows selected before).
        selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        selection.blockSignals(False)

    def _row_found(self, generation: int, path: str, row: int | None) -> None:
        if self.wanted is None or self.wanted[0] != path:
            return  # something else was selected meanwhile
        follow = self.wanted[1]
        if generation != self.searcher.generation:  # listed again since: ask that listing
            self.searcher.find_row(self.model.store, self.query(), path)
            return
        self.wanted, otherwise = None, self._otherwise
        if row is None or not 0 <= row < self.model.total:
            if otherwise is not None:
                otherwise()
            return
        self._select_row(row, follow)
        self.view.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        if follow and self.model.item_at(row) is None:  # its page is on the way
            self.followed.emit(path)  # the canvas follows now, as on a click

    def _moved(self, current, _previous) -> None:
        if self.wanted is not None and current.isValid() and current.data(PathRole) is not None:
            self.wanted = None  # the user moved on before the asked-for row was found
