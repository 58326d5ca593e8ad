"""The model library, listed off the GUI thread.

Listing reads one header per new file (200 SDXL checkpoints: about 0.7 s the first time);
the window never waits for that. Each scan runs on a short-lived thread and reports back
through a queued signal; a newer scan supersedes an older one still running, so the
answer shown is always for the folders the user chose last.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.hashing import HASH_DB, HashCache, default_cache_dir
from engine.library.scan import LibraryEntry, scan_library
from gui.model_folders_watch import folders_to_watch

log = logging.getLogger(__name__)


class LibraryListing:
    """What one scan found: the entries, the short hashes already known, and the
    folders (subfolders too) that exist, to watch for files added later."""

    def __init__(
        self,
        entries: list[LibraryEntry],
        hashes: dict[Path, str],
        folders: list[str] | None = None,
    ) -> None:
        self.entries = entries
        self.hashes = hashes
        self.folders = folders or []

    def short_hash(self, entry: LibraryEntry) -> str | None:
        sha = self.hashes.get(entry.path)
        return sha[:10] if sha else None


class LibraryScanner(QObject):
    scanned = Signal(object)  # LibraryListing
    _finished = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._finished.connect(self._deliver)

    def scan(self, folders: list[Path]) -> None:
        self._generation += 1
        generation = self._generation
        folders = list(folders)
        threading.Thread(
            target=self._run, args=(generation, folders), name="library-scan", daemon=True
        ).start()

    def _run(self, generation: int, folders: list[Path]) -> None:
        try:
            entries = scan_library(folders)
            singles = [e.path for e in entries if e.format == "single file"]
            hashes = HashCache(default_cache_dir() / HASH_DB).known(singles)
            watched = folders_to_watch(folders)
        except Exception:  # a scan must never take the window down; log and show nothing
            log.exception("listing the model folders failed")
            entries, hashes, watched = [], {}, []
        self._finished.emit(generation, LibraryListing(entries, hashes, watched))

    def _deliver(self, generation: int, listing: LibraryListing) -> None:
        if generation == self._generation:
            self.scanned.emit(listing)
