"""Pages of the gallery's rows, read from the index on a worker thread.

The grid knows how many rows there are; when it paints a row whose page is not loaded,
the model asks `PageFetcher` for that page and shows a placeholder meanwhile. Scrolling
to row 90,000 therefore never reads SQLite on the GUI thread. The newest request runs
first (a rising priority): after a fast scroll the page on screen comes before the
pages scrolled past. An answer for an older listing (its generation) is dropped.
"""

from __future__ import annotations

import itertools
import sqlite3

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine.api.errors import BadInput
from engine.interface import Gallery
from engine.store import StoreError

PAGE = 300  # rows read at a time


def read_page(store: Gallery, query: str, page: int) -> list:
    """Rows page*PAGE onwards of a listing (every image when `query` is empty)."""
    offset = page * PAGE
    if query:
        return store.search(query, limit=PAGE, offset=offset)
    return store.items(limit=PAGE, offset=offset)


class PageFetcher(QObject):
    fetched = Signal(int, int, list)  # generation, page, the rows (list of GalleryItem)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one reader: SQLite pages come back in turn
        self._order = itertools.count()
        self.generation = 0

    def fetch(self, store: Gallery, query: str, generation: int, page: int) -> None:
        priority = min(next(self._order), 2**31 - 1)
        self._pool.start(lambda: self._run(store, query, generation, page), priority)

    def _run(self, store: Gallery, query: str, generation: int, page: int) -> None:
        if generation != self.generation:
            return  # listed again meanwhile
        try:
            rows = read_page(store, query, page)
        except (BadInput, StoreError, sqlite3.Error, OSError):
            rows = []  # the rows stay placeholders; the next listing asks again
        self.fetched.emit(generation, page, rows)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def close(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(5_000)
