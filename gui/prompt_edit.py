"""The prompt editor: A1111's syntax highlighted as the engine reads it, and Ctrl+↑/↓
to weight the selection (or the word at the cursor) up or down by 0.1.

Colours follow the weight each character gets (prompt_syntax.spans, the same walk the
encoder's parser makes): warmer and bolder above 1, greyer below, brackets dimmed,
<lora:...> tags and BREAK in their own colours; the names of the embeddings in the model
folders (the last scan's, so a keystroke reads no disk) underlined in theirs. Wildcards
(`{a|b}`, `{2$$a|b}`, `__name__`) in theirs, a name the wildcard folder lacks underlined
in red; typing `__` completes a name (gui/wildcard_completer.py).
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

from engine.api.prompt_syntax import Span, adjust_weight, spans
from gui.wildcard_completer import WildcardCompleter

WEIGHT_STEP = 0.1
# Readable on the editor's light background (checked under Xvfb).
COLOURS = {
    "bracket": QColor("#8a8a8a"),
    "lora": QColor("#8e44ad"),
    "break": QColor("#1f5fbf"),
    "up": QColor("#b35c00"),
    "down": QColor("#6b7785"),
    "embedding": QColor("#00796b"),
    "wildcard": QColor("#1565c0"),
    "unknown": QColor("#d32f2f"),
}
_WILDCARD_MARKS = re.compile(r"(?<!\\)[{}|]|\$\$")
_WILDCARD_NAME = re.compile(r"(?<!\\)__([A-Za-z0-9_\-./]{1,100}?)__")
_COMPLETING_KEYS = (Qt.Key.Key_Enter, Qt.Key.Key_Return, Qt.Key.Key_Escape, Qt.Key.Key_Tab)


class PromptHighlighter(QSyntaxHighlighter):
    def __init__(self, document) -> None:
        super().__init__(document)
        self._text: str | None = None
        self._spans: list[Span] = []
        self._embeddings: re.Pattern[str] | None = None
        self._wildcards: set[str] | None = None  # None: the folder is not listed yet

    def set_embedding_names(self, names: list[str]) -> None:
        """Words to mark as embeddings; as the engine finds them: whole words, longest first."""
        names = sorted(set(names), key=len, reverse=True)
        alternatives = "|".join(re.escape(n) for n in names)
        self._embeddings = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])") if names else None
        self.rehighlight()

    def set_wildcard_names(self, names: list[str]) -> None:
        self._wildcards = set(names)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        whole = self.document().toPlainText()
        if whole != self._text:  # brackets may span lines: read it all, once per change
            self._text = whole
            self._spans = spans(whole)
        block_start = self.currentBlock().position()
        block_end = block_start + len(text)
        for span in self._spans:
            if span.end <= block_start or span.start >= block_end:
                continue
            start = max(span.start, block_start) - block_start
            end = min(span.end, block_end) - block_start
            style = span_format(span)
            if style is not None:
                self.setFormat(start, end - start, style)
        for found in self._embeddings.finditer(text) if self._embeddings else ():
            style = self.format(found.start())
            style.setForeground(COLOURS["embedding"])
            style.setFontUnderline(True)
            self.setFormat(found.start(), found.end() - found.start(), style)
        self._highlight_wildcards(text)

    def _highlight_wildcards(self, text: str) -> None:
        for found in _WILDCARD_MARKS.finditer(text):
            style = self.format(found.start())
            style.setForeground(COLOURS["wildcard"])
            style.setFontWeight(QFont.Weight.Bold)
            self.setFormat(found.start(), found.end() - found.start(), style)
        for found in _WILDCARD_NAME.finditer(text):
            style = self.format(found.start())
            style.setForeground(COLOURS["wildcard"])
            if self._wildcards is not None and found.group(1) not in self._wildcards:
                style.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                style.setUnderlineColor(COLOURS["unknown"])
            self.setFormat(found.start(), found.end() - found.start(), style)


def span_format(span: Span) -> QTextCharFormat | None:
    style = QTextCharFormat()
    if span.kind in ("bracket", "lora", "break"):
        style.setForeground(COLOURS[span.kind])
        if span.kind == "break":
            style.setFontWeight(QFont.Weight.Bold)
        return style
    if abs(span.weight - 1.0) < 1e-6:
        return None
    style.setForeground(COLOURS["up" if span.weight > 1 else "down"])
    if span.weight > 1.2:
        style.setFontWeight(QFont.Weight.Bold)
    if span.weight < 0.95:
        style.setFontItalic(True)
    return style


class PromptEdit(QPlainTextEdit):
    def __init__(self, placeholder: str, parent=None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self.highlighter = PromptHighlighter(self.document())
        self.wildcards = WildcardCompleter(self)
        self.setToolTip(
            "(word) or (word:1.3) weights up, [word] down; BREAK starts a new chunk; "
            "<lora:NAME:0.8> applies a LoRA. Ctrl+↑/↓ weights the selection.\n"
            "{red|green|blue} picks one per picture, {2$$a|b|c} two; __name__ a line of "
            "name.txt in the wildcards folder (type __ to choose one)."
        )

    def set_embedding_names(self, names: list[str]) -> None:
        self.highlighter.set_embedding_names(names)

    def set_wildcard_names(self, names: list[str]) -> None:
        self.highlighter.set_wildcard_names(names)
        self.wildcards.set_names(names)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if self.wildcards.popup_visible and event.key() in _COMPLETING_KEYS:
            event.ignore()  # the completer's list takes these keys
            return
        step = {Qt.Key.Key_Up: WEIGHT_STEP, Qt.Key.Key_Down: -WEIGHT_STEP}.get(event.key())
        if step is not None and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.adjust_selection_weight(step)
            return
        super().keyPressEvent(event)
        if event.text():  # a character typed or erased, not a move
            self.wildcards.update()

    def adjust_selection_weight(self, step: float) -> None:
        cursor = self.textCursor()
        text = self.toPlainText()
        new, start, end = adjust_weight(text, cursor.selectionStart(), cursor.selectionEnd(), step)
        if new == text:
            return
        cursor.beginEditBlock()  # one undo step
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(new)
        cursor.endEditBlock()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
