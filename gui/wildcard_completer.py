"""Completing `__name__` in a prompt editor from the wildcard folder's last listing.

Typing `__` opens a list of the folder's names (subfolders as `hair/long`), narrowed by
what follows; Enter or Tab (or a click) writes the name and the closing `__`. The names
come from gui/wildcard_scanner.py's listing: nothing here reads the disk.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QPlainTextEdit

# What ends the word being typed: a name never holds these.
_WORD_END = re.compile(r"[\s{}|,()\[\]<>:$]")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_\-./]*")


def typed_name(before: str) -> str | None:
    """The part of a `__name` being typed just before the cursor, or None when the
    cursor is not inside an opened `__` (a closed `__name__` is not reopened)."""
    word = _WORD_END.split(before)[-1]
    if not word.startswith("__") or word.startswith("\\"):
        return None
    rest = word[2:]
    if "__" in rest or not _NAME_CHARS.fullmatch(rest):
        return None
    return rest


class WildcardCompleter(QObject):
    def __init__(self, edit: QPlainTextEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        self.names = QStringListModel(self)
        self.completer = QCompleter(self.names, edit)
        self.completer.setWidget(edit)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.activated.connect(self.insert)

    def set_names(self, names: list[str]) -> None:
        self.names.setStringList(names)

    @property
    def popup_visible(self) -> bool:
        return self.completer.popup().isVisible()

    def update(self) -> None:
        """After a key: open, narrow or close the list for the name being typed."""
        cursor = self.edit.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        typed = typed_name(block) if not cursor.hasSelection() else None
        popup = self.completer.popup()
        if typed is None or not self.names.rowCount():
            popup.hide()
            return
        self.completer.setCompletionPrefix(typed)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.edit.cursorRect()
        rect.setWidth(
            popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 16
        )
        self.completer.complete(rect)

    def insert(self, name: str) -> None:
        """The chosen name in place of what was typed of it, closed with `__`."""
        cursor = self.edit.textCursor()
        typed = typed_name(cursor.block().text()[: cursor.positionInBlock()]) or ""
        cursor.movePosition(cursor.MoveOperation.Left, cursor.MoveMode.KeepAnchor, len(typed))
        cursor.insertText(f"{name}__")
        self.edit.setTextCursor(cursor)
