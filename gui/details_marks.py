"""The details dock's Stars and Boards rows, as controls: click a star to set it (the
lit star again clears them), × beside a board takes the picture off it.

They only say what the user asked for (signals); the dock's owner writes it off the GUI
thread (gui/mark_actions.py) and the rows follow once the index has it.
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from engine.store.marks import MAX_STARS

STARS, BOARDS = "Stars", "Boards"


class StarsRow(QWidget):
    chosen = Signal(int)  # the stars clicked (0: the lit one clicked again)

    def __init__(self, stars: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.buttons = []
        for n in range(1, MAX_STARS + 1):
            button = _flat("★" if n <= stars else "☆")
            button.setToolTip(
                "Clear the stars (key 0)" if n == stars else f"{n} star{'s' * (n > 1)} (key {n})"
            )
            button.clicked.connect(lambda _c=False, n=n: self.chosen.emit(0 if n == stars else n))
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)


class BoardsRow(QWidget):
    remove = Signal(str)  # the board the picture leaves

    def __init__(self, boards: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.buttons: dict[str, QToolButton] = {}
        for name in boards:
            line = QHBoxLayout()
            label = QLabel(name)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            button = _flat("×")
            button.setToolTip(f"Take this picture off the board {name!r}")
            button.clicked.connect(lambda _c=False, name=name: self.remove.emit(name))
            line.addWidget(label, 1)
            line.addWidget(button)
            layout.addLayout(line)
            self.buttons[name] = button


class ShowsMarks(Protocol):
    """What a row's control needs of the details panel (typed here, not imported: the
    panel imports this module)."""

    meta: Any  # engine.store.ImageMetadata | None
    marks: Any  # engine.store.marks.Marks | None
    locked: str  # why its stars cannot be set ("" when they can)
    stars_chosen: Any  # Signal(str, int)
    board_left: Any  # Signal(str, str)


def marks_control(label: str, panel: ShowsMarks) -> StarsRow | BoardsRow | None:
    """The control for the Stars or Boards row of the picture the panel shows (None for
    any other row): a click emits its `stars_chosen(path, stars)` or `board_left(path,
    board)`."""
    meta, marks = panel.meta, panel.marks
    path = str(meta.path) if meta is not None and meta.path else ""
    if marks is None or not path:
        return None
    if label == STARS and panel.locked:  # shown, so the user learns how to star it
        stars = StarsRow(marks.stars)
        stars.setEnabled(False)
        stars.setToolTip(panel.locked)
        for button in stars.buttons:
            button.setToolTip(panel.locked)
        return stars
    if label == STARS:
        stars = StarsRow(marks.stars)
        stars.chosen.connect(lambda n: panel.stars_chosen.emit(path, n))
        return stars
    if label == BOARDS and marks.boards:
        boards = BoardsRow(marks.boards)
        boards.remove.connect(lambda name: panel.board_left.emit(path, name))
        return boards
    return None


def keep_focus(panel: QWidget) -> None:
    """Before the panel's rows are replaced: if one has the focus, the panel takes it."""
    if panel.isAncestorOf(QApplication.focusWidget()):
        panel.setFocus()


def _flat(text: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the dock keeps the focus (keys 0-5, B)
    return button
