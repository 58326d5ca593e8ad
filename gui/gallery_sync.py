"""Bringing the gallery index in line with the folder, off the GUI thread.

At open, after the output folder changes, and on Rescan, `GallerySync` runs the store's
sync (put right killed saves, list new files, forget gone ones) on a thread of its own;
the gallery keeps listing what the index has meanwhile and refreshes when it is done.
The same thread lists the folders the gallery watches, so a change seen by the watcher
never makes the GUI thread touch the disk.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from engine.interface import Gallery


class GallerySync(QObject):
    progress = Signal(int, int)  # files read, files to read
    finished = Signal(object, list)  # the store that was synced, the folders to watch

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
        folders: list[Path] = []
        try:
            store.sync(progress=self.progress.emit, should_stop=self._stop.is_set)
            folders = folders_to_watch(store.root) + source_folders_to_watch(store.source_folders)
        finally:
            self.running = False
            self.finished.emit(store, folders)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def stop(self) -> None:
        """Stop between two batches and wait (a batch takes well under a second)."""
        self._stop.set()
        self._pool.clear()
        self._pool.waitForDone(5_000)


def folders_to_watch(root: Path) -> list[Path]:
    """The output folder and its visible subfolders (the day folders), those that exist."""
    try:
        if not root.is_dir():
            return []
        return [root] + [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except (OSError, ValueError):
        # An output folder the system cannot even look at (a name too long, no
        # permission): the store has said why; there is nothing to watch.
        return []


MAX_WATCHED = 2_000  # subfolders of source folders watched (a system's watches are few)


def source_folders_to_watch(folders: tuple[Path, ...]) -> list[Path]:
    """Each source folder and its visible subfolders, at any depth (A1111 nests its days
    two deep), up to MAX_WATCHED; links are not followed, as the store does not."""
    watched: list[Path] = []
    for folder in folders:
        for parent, dirs, _files in os.walk(folder):
            here = Path(parent)
            dirs[:] = [d for d in dirs if not d.startswith(".") and not (here / d).is_symlink()]
            watched.append(here)
            if len(watched) >= MAX_WATCHED:
                return watched
    return watched
