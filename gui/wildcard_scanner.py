"""The wildcard folder, read off the GUI thread (as gui/library_scanner.py lists the
model folders): Create expands, checks and completes `__name__` from the last listing,
so a keystroke never reads the disk. A newer read supersedes one still running."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.batch.wildcard_listing import read_wildcard_folder

log = logging.getLogger(__name__)


class WildcardScanner(QObject):
    listed = Signal(object, object)  # the folder (Path), {name: options}
    _finished = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._finished.connect(self._deliver)

    def scan(self, folder: Path) -> None:
        self._generation += 1
        threading.Thread(
            target=self._run, args=(self._generation, folder), name="wildcards", daemon=True
        ).start()

    def _run(self, generation: int, folder: Path) -> None:
        try:
            listing = read_wildcard_folder(folder)
        except Exception:  # a read must never take the window down; log and list nothing
            log.exception("reading the wildcard folder failed")
            listing = {}
        self._finished.emit(generation, folder, listing)

    def _deliver(self, generation: int, folder: Path, listing: dict) -> None:
        if generation == self._generation:
            self.listed.emit(folder, listing)
