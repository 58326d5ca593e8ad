"""The gallery's search and marks, run off the GUI thread.

A search keystroke is an interactive move: the GUI thread never reads the index for it.
`GallerySearcher` parses and runs the query on a one-thread pool and hands back the first
page and the count; an answer to a query typed over since is dropped (its generation is
stale). Stars and boards are written on the same thread, so a search asked for after a
change sees it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine.api.errors import BadInput
from engine.interface import Gallery
from engine.store import StoreError


class GallerySearcher(QObject):
    # generation, the query, the first page (list of GalleryItem), how many match
    answered = Signal(int, str, list, int)
    # generation, the query, the first page: sent before counting a full page's matches
    # (a count of tens of thousands takes as long again); `answered` follows
    first_page = Signal(int, str, list)
    refused = Signal(int, str, str)  # generation, the query, the sentence saying why
    row_found = Signal(int, str, object)  # generation, a path, its row (None: not listed)
    changed = Signal()  # stars or boards were written
    failed = Signal(str)  # a write that could not be made, as a sentence

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # answers and writes in the order asked
        self.generation = 0

    def search(self, store: Gallery, text: str, page: int) -> int:
        """Start a search; returns its generation (only the newest one's answer counts)."""
        self.generation += 1
        generation = self.generation
        self._pool.start(lambda: self._run(store, text, page, generation))
        return generation

    def _run(self, store: Gallery, text: str, page: int, generation: int) -> None:
        if generation != self.generation:
            return  # typed over before it started
        try:
            if text:
                items = store.search(text, limit=page)
                if len(items) < page:
                    total = len(items)  # all of them: nothing to count
                else:
                    self.first_page.emit(generation, text, items)
                    if generation != self.generation:
                        return  # typed over: its count would only delay the newer search
                    total = store.count_search(text)
            else:  # every image (a re-listing after a sync or a change of stars)
                items, total = store.items(limit=page), store.count()
        except BadInput as exc:
            self.refused.emit(generation, text, str(exc))
            return
        self.answered.emit(generation, text, items, total)

    def find_row(self, store: Gallery, text: str, path: str) -> None:
        """Where `path` is in the listing of `text`, asked of the index (one count, however
        far down it is). It runs after the listings asked before it, so its row is a row
        of the newest listing; a search asked after it makes its answer stale."""
        generation = self.generation
        self._pool.start(lambda: self._find_row(store, text, path, generation))

    def _find_row(self, store: Gallery, text: str, path: str, generation: int) -> None:
        if generation != self.generation:  # listed again meanwhile: asked again there
            self.row_found.emit(generation, path, None)
            return
        try:
            row = store.row_of(path, text)
        except (BadInput, StoreError, sqlite3.Error, OSError):
            row = None  # a query refused, or the index closing: it is not found
        self.row_found.emit(generation, path, row)

    def write(self, change: Callable[[], None]) -> None:
        """Stars or boards, written through the store (PNG and index) off the GUI thread."""
        self._pool.start(lambda: self._write(change))

    def _write(self, change: Callable[[], None]) -> None:
        try:
            change()
        except (BadInput, StoreError) as exc:
            self.failed.emit(getattr(exc, "message", None) or str(exc))
            return
        self.changed.emit()

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def close(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(5_000)
