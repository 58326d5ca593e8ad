"""Boards from the keyboard (B) and menus: a small dialog that names a board for the
pictures marked (one already made, or a new name), or the board they leave.

The board names are read off the GUI thread before the dialog opens (gui/mark_actions.py).
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


class BoardDialog(QDialog):
    def __init__(
        self, boards: list[str], count: int, parent: QWidget | None = None, leave: bool = False
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remove from Board" if leave else "Add to Board")
        self.names = QComboBox()
        self.names.setEditable(not leave)  # a new name makes a new board
        self.names.addItems(boards)
        if not leave:
            self.names.setCurrentText("")
            self.names.lineEdit().setPlaceholderText("A board, or a new name")
        pictures = "this picture" if count == 1 else f"these {count} pictures"
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        verb = "Take" if leave else "Add"
        layout.addWidget(QLabel(f"{verb} {pictures} {'off' if leave else 'to'} the board:"))
        layout.addWidget(self.names)
        layout.addWidget(buttons)

    @property
    def name(self) -> str:
        return self.names.currentText().strip()


def ask_board(boards: list[str], count: int, parent: QWidget | None = None) -> str | None:
    """The board named, or None when the user cancelled or named none."""
    return _ask(BoardDialog(boards, count, parent))


def ask_board_to_leave(boards: list[str], count: int, parent: QWidget | None = None) -> str | None:
    """Which of `boards` the pictures leave, or None (cancelled, or there is no board)."""
    return _ask(BoardDialog(boards, count, parent, leave=True)) if boards else None


def _ask(dialog: BoardDialog) -> str | None:
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.name or None
