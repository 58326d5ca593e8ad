"""Show in folder: the file manager at an image's folder, or, where none opens, the path.

A desktop without a file manager (a minimal install, a bare window manager) makes
QDesktopServices fail quietly: the user is then told where the image is, and can copy it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget


def reveal_in_folder(path: Path | str, parent: QWidget | None = None) -> bool:
    """Open the image's folder (selecting the file is not portable); False if none opened."""
    folder = Path(path).parent
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        return True
    box = QMessageBox(
        QMessageBox.Icon.Information,
        "No file manager",
        f"No file manager could be opened. The image is in:\n\n{folder}",
        parent=parent,
    )
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    copy = box.addButton("Copy Path", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(str(Path(path))))
    box.open()
    return False
