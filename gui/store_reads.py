"""Reads from the gallery's store (its SQLite index, its files) off the GUI thread.

Showing a picture's stars or opening the board dialog is an interactive move: the GUI
thread asks, a one-thread pool reads, and the answer comes back on the GUI thread as a
call of the `then` given with the read. A read that fails gives its `default` instead
(the store says why where it matters: the writes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine.api.errors import BadInput
from engine.store import StoreError


class StoreReader(QObject):
    _done = Signal(object, object)  # then, the value read (queued to the GUI thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # answers in the order asked
        self._done.connect(self._deliver)

    def read(self, fetch: Callable[[], Any], then: Callable[[Any], None], default: Any) -> None:
        """Call `fetch` on the pool thread, then `then(value)` on the GUI thread."""
        self._pool.start(lambda: self._run(fetch, then, default))

    def _run(self, fetch: Callable[[], Any], then: Callable[[Any], None], default: Any) -> None:
        try:
            value = fetch()
        except (BadInput, StoreError, OSError, ValueError, sqlite3.Error):  # closing, say
            value = default
        self._done.emit(then, value)

    def _deliver(self, then: Callable[[Any], None], value: Any) -> None:
        then(value)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)
