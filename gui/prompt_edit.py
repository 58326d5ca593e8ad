"""The prompt editor: A1111's syntax highlighted as the engine reads it, and Ctrl+↑/↓
to weight the selection (or the word at the cursor) up or down by 0.1.

Colours follow the weight each character gets (prompt_syntax.spans, the same walk the
encoder's parser makes): warmer and bolder above 1, greyer below, brackets dimmed,
<lora:...> tags and BREAK in their own colours; the names of the embeddings in the model
folders (the last scan's, so a keystroke reads no disk) underlined in theirs.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

from engine.api.prompt_syntax import Span, adjust_weight, spans

WEIGHT_STEP = 0.1
# Readable on the editor's light background (checked under Xvfb).
COLOURS = {
    "bracket": QColor("#8a8a8a"),
    "lora": QColor("#8e44ad"),
    "break": QColor("#1f5fbf"),
    "up": QColor("#b35c00"),
    "down": QColor("#6b7785"),
    "embedding": QColor("#00796b"),
}


class PromptHighlighter(QSyntaxHighlighter):
    def __init__(self, document) -> None:
        super().__init__(document)
        self._text: str | None = None
        self._spans: list[Span] = []
        self._embeddings: re.Pattern[str] | None = None

    def set_embedding_names(self, names: list[str]) -> None:
        """Words to mark as embeddings; as the engine finds them: whole words, longest first."""
        names = sorted(set(names), key=len, reverse=True)
        alternatives = "|".join(re.escape(n) for n in names)
        self._embeddings = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])") if names else None
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
        self.setToolTip(
            "(word) or (word:1.3) weights up, [word] down; BREAK starts a new chunk; "
            "<lora:NAME:0.8> applies a LoRA. Ctrl+↑/↓ weights the selection."
        )

    def set_embedding_names(self, names: list[str]) -> None:
        self.highlighter.set_embedding_names(names)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        step = {Qt.Key.Key_Up: WEIGHT_STEP, Qt.Key.Key_Down: -WEIGHT_STEP}.get(event.key())
        if step is not None and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.adjust_selection_weight(step)
            return
        super().keyPressEvent(event)

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
