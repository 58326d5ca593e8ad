"""Noticing model files copied into (or removed from) the model folders while the app runs.

The folders and their subfolders are watched (a QFileSystemWatcher reports a name
added, removed or renamed in a folder); a burst of changes is settled into one rescan.
The window also asks for a rescan when it gets the focus back, which catches what the
watcher cannot see: a large file still being written when it was first listed, a
folder nested deeper than we watch, a network share. The rescan itself is
LibraryScanner's, on a thread; a file already listed costs one stat.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from engine.library.scan import MAX_DEPTH, LibraryEntry

SETTLE_MS = 600  # after a folder changes, wait this long for quiet before rescanning
MAX_WATCHED = 256  # inotify watches are a per-user resource; the focus rescan covers the rest


class ModelFoldersWatch(QObject):
    rescan = Signal()  # the folders may hold other files now: list them again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _path: self._settle.start())
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self.rescan)

    def watch(self, folders: Iterable[str]) -> None:
        """Watch exactly these folders (a scan's answer says which exist)."""
        wanted = set(folders)
        stale = [d for d in self.watcher.directories() if d not in wanted]
        if stale:
            self.watcher.removePaths(stale)
        new = sorted(wanted - set(self.watcher.directories()))
        if new:
            self.watcher.addPaths(new)

    def window_activated(self) -> None:
        self._settle.start()


def folders_to_watch(roots: Iterable[Path]) -> list[str]:
    """The roots and their subfolders as deep as the library looks, hidden ones and the
    insides of diffusers folders left out. Reads the disk: call it off the GUI thread."""
    found: list[str] = []
    for root in roots:
        _collect(Path(root).expanduser(), 0, found)
    return found[:MAX_WATCHED]


def _collect(folder: Path, depth: int, found: list[str]) -> None:
    if len(found) >= MAX_WATCHED or not folder.is_dir():
        return
    found.append(str(folder))
    if depth >= MAX_DEPTH or (folder / "model_index.json").is_file():
        return
    try:
        children = sorted(e.path for e in os.scandir(folder) if e.is_dir())
    except OSError:
        return
    for child in children:
        if not Path(child).name.startswith("."):
            _collect(Path(child), depth + 1, found)


def what_changed(before: list[LibraryEntry], after: list[LibraryEntry]) -> str:
    """'2 new models in the model folders: a, b'; '1 model gone: c'; '' when the same."""
    old, new = {e.path for e in before}, {e.path for e in after}
    added = sorted((e for e in after if e.path not in old), key=lambda e: e.name.lower())
    gone = sorted((e for e in before if e.path not in new), key=lambda e: e.name.lower())
    parts = []
    if added:
        parts.append(f"{_count(len(added), 'new model')} in the model folders: {_names(added)}")
    if gone:
        parts.append(f"{_count(len(gone), 'model')} gone: {_names(gone)}")
    return "; ".join(parts) + "." if parts else ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _names(entries: list[LibraryEntry], shown: int = 3) -> str:
    names = [e.name for e in entries[:shown]]
    more = len(entries) - shown
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")
