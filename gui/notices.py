"""What the window tells the user: a line in the status bar, or a box for a failure.

The last failure shown is kept (`last_error`): the window's tests read it, and a panel
that lists its own failures (Upscale's batch) leaves only that, no box.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMessageBox

NOTICE_MS = 15_000


class Notices:
    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.last_error: str | None = None

    def say(self, text: str, ms: int = NOTICE_MS) -> None:
        self.window.statusBar().showMessage(text, ms)

    def error(self, title: str, message: str) -> None:
        """A window-modal box (never blocking) and the same words in the status bar."""
        self.last_error = message
        self.say(message)
        QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self.window).open()
