"""Key B in the gallery: a small dialog that names a board (one already made, or a new
name) for the selected pictures."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


class BoardDialog(QDialog):
    def __init__(self, boards: list[str], count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add to Board")
        self.names = QComboBox()
        self.names.setEditable(True)  # a new name makes a new board
        self.names.addItems(boards)
        self.names.setCurrentText("")
        self.names.lineEdit().setPlaceholderText("A board, or a new name")
        pictures = "this picture" if count == 1 else f"these {count} pictures"
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Add {pictures} to the board:"))
        layout.addWidget(self.names)
        layout.addWidget(buttons)

    @property
    def name(self) -> str:
        return self.names.currentText().strip()


def ask_board(boards: list[str], count: int, parent: QWidget | None = None) -> str | None:
    """The board named, or None when the user cancelled or named none."""
    dialog = BoardDialog(boards, count, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.name or None
