"""Bringing the gallery index in line with the folder, off the GUI thread.

At open, after the output folder changes, and on Rescan, `GallerySync` runs the store's
sync (put right killed saves, list new files, forget gone ones) on a thread of its own;
the gallery keeps listing what the index has meanwhile and refreshes when it is done.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine.interface import Gallery


class GallerySync(QObject):
    progress = Signal(int, int)  # files read, files to read
    finished = Signal(object)  # the store that was synced

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._stop = threading.Event()
        self.running = False

    def start(self, store: Gallery) -> None:
        self._stop.clear()
        self.running = True
        self._pool.start(lambda: self._run(store))

    def _run(self, store: Gallery) -> None:
        try:
            store.sync(progress=self.progress.emit, should_stop=self._stop.is_set)
        finally:
            self.running = False
            self.finished.emit(store)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def stop(self) -> None:
        """Stop between two batches and wait (a batch takes well under a second)."""
        self._stop.set()
        self._pool.clear()
        self._pool.waitForDone(5_000)
