"""A seed field: empty or -1 means a new random seed each time, as in A1111."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from gui.viewmodels.fields import resolve_seed, seed_text


class SeedEdit(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("random")
        self.edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"-1|\d{0,10}")))
        self.edit.setToolTip("Empty or -1: a new random seed for every run.")
        self.random_button = QToolButton(text="Random")
        self.random_button.setToolTip("Use a random seed")
        self.random_button.clicked.connect(lambda: self.edit.clear())
        self.reuse_button = QToolButton(text="Reuse")
        self.reuse_button.setToolTip("Reuse the seed of the last image")
        self.reuse_button.clicked.connect(self._reuse_last)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.random_button)
        layout.addWidget(self.reuse_button)
        self.last_seed: int | None = None
        self.reuse_button.setEnabled(False)

    def set_last_seed(self, seed: int) -> None:
        self.last_seed = seed
        self.reuse_button.setEnabled(True)

    def _reuse_last(self) -> None:
        if self.last_seed is not None:
            self.set_seed(self.last_seed)

    def set_seed(self, seed: int | None) -> None:
        self.edit.setText(seed_text(seed))

    def resolve(self) -> int:
        """The seed to use now: the typed one, or a fresh random one."""
        return resolve_seed(self.edit.text())
