"""File → Add Source Folder… / Remove Source Folder…: another tool's folder of pictures
(A1111, ComfyUI, InvokeAI…) listed in the gallery, read only (engine.store.source_folders).

The list is kept in the settings; the store says in a sentence why a folder cannot be
one (missing, inside the output folder, holding it). The gallery watches and syncs them
like the output folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from engine.interface import Gallery
from gui.gallery_panel import GalleryPanel
from gui.settings import AppSettings


class SourceFolderActions(QObject):
    refused = Signal(str)  # a folder chosen could not be added: why
    notice = Signal(str)  # saved folders that cannot be listed now (a drive not mounted…)

    def __init__(self, settings: AppSettings, panel: GalleryPanel, parent: QWidget) -> None:
        super().__init__(parent)
        self.settings = settings
        self.panel = panel
        self.add_action = QAction("Add Source Folder…", parent)
        self.add_action.setToolTip(
            "List another tool's folder of pictures in the gallery (read only: never changed)"
        )
        self.add_action.triggered.connect(self.add)
        self.remove_action = QAction("Remove Source Folder…", parent)
        self.remove_action.setToolTip("Stop listing a source folder (its files stay as they are)")
        self.remove_action.triggered.connect(self.remove)
        # The dialogs, replaceable by tests: a folder ("" when cancelled), and which to remove.
        self.choose_folder: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            parent, "Add Source Folder", str(Path.home())
        )
        self.choose_removal: Callable[[list[str]], str] = self._ask_removal
        self._update()

    def apply(self, store: Gallery) -> None:
        """Give `store` the saved folders (at start, and when the output folder changes)."""
        problems = store.set_source_folders(self.settings.source_folders)
        if problems:
            self.notice.emit(" ".join(problems))

    def add(self) -> None:
        chosen = self.choose_folder()
        if not chosen:
            return
        folder = Path(chosen)
        store = self.panel.store
        problems = store.set_source_folders([*self.settings.source_folders, folder])
        if folder.resolve() not in store.source_folders:
            self.refused.emit(problems[-1] if problems else f"{folder} was not added.")
            return
        self.settings.source_folders = [*self.settings.source_folders, folder]
        self._update()
        self.panel.sync()

    def remove(self) -> None:
        saved = self.settings.source_folders
        if not saved:
            return
        chosen = self.choose_removal([str(f) for f in saved])
        if not chosen:
            return
        kept = [f for f in saved if str(f) != chosen]
        self.settings.source_folders = kept
        self.panel.store.set_source_folders(kept)
        self._update()
        self.panel.sync()

    def _update(self) -> None:
        self.remove_action.setEnabled(bool(self.settings.source_folders))

    def _ask_removal(self, folders: list[str]) -> str:
        parent = self.parent() if isinstance(self.parent(), QWidget) else None
        chosen, ok = QInputDialog.getItem(
            parent,
            "Remove Source Folder",
            "Stop listing this folder in the gallery (its pictures stay where they are):",
            folders,
            0,
            False,
        )
        return chosen if ok else ""
