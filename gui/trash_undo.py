"""Deleting from the gallery moves files to the trash; Undo (a button beside the status
message for a while, and Edit → Undo Delete) brings them back."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QPushButton

from engine.interface import Engine
from engine.store import StoreError, Trashed
from gui.gallery_panel import GalleryPanel
from gui.notices import Notices

UNDO_MS = 15_000  # how long the Undo button stays after a delete


class TrashUndo(QObject):
    changed = Signal()  # whether there is something to undo changed

    def __init__(self, client: Engine, gallery: GalleryPanel, notices: Notices) -> None:
        super().__init__(gallery)
        self.client, self.gallery, self.notices = client, gallery, notices
        self.last_trashed: list[Trashed] = []
        self.button = QPushButton("Undo")
        self.button.hide()
        self.button.clicked.connect(self.undo)
        self._timer = QTimer(self, singleShot=True, interval=UNDO_MS)
        self._timer.timeout.connect(self.button.hide)

    def deleted(self, trashed: list[Trashed]) -> None:
        self.last_trashed = [t for t in trashed if t.restorable]
        count = f"{len(trashed)} image{'s' if len(trashed) != 1 else ''}"
        self.notices.say(f"Moved {count} to the trash.", UNDO_MS)
        self.button.setVisible(bool(self.last_trashed))
        self._timer.start()
        self.changed.emit()

    def undo(self) -> None:
        restored = []
        for trashed in self.last_trashed:
            try:
                restored.append(self.client.gallery.undelete(trashed))
            except StoreError as exc:
                self.notices.error("Not restored", exc.message)
        self.last_trashed = []
        self.button.hide()
        self.gallery.refresh()
        if restored:
            self.gallery.select_path(str(restored[0]))
            self.notices.say(f"Restored {len(restored)} image(s) from the trash.", 8_000)
        self.changed.emit()
