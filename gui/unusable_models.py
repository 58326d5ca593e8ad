"""A line under Create's model picker when some files in the model folders cannot be used,
with the reasons one click away (a greyed picker item shows its reason cut at the
picker's width, and a tooltip is not something a new user finds)."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from engine.library.scan import LibraryEntry

WARNING = "color: #f0a040;"


class UnusableNote(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(WARNING)
        self.linkActivated.connect(lambda _link: self.explain())
        self.problems: list[LibraryEntry] = []
        self.box: QMessageBox | None = None
        self.hide()

    def show_entries(self, entries: list[LibraryEntry]) -> None:
        self.problems = [e for e in entries if e.problem]
        count = len(self.problems)
        files = "file" if count == 1 else "files"
        self.setText(f'{count} {files} in the model folders cannot be used: <a href="why">why?</a>')
        self.setVisible(bool(count))

    def explain(self) -> None:
        """Each file and its reason, in a box the user can read and copy from."""
        lines = [f"<p>{_reason(e)}</p>" for e in self.problems]
        self.box = QMessageBox(
            QMessageBox.Icon.Information,
            "Files that cannot be used",
            "".join(lines),
            parent=self.window(),
        )
        self.box.setDetailedText("\n".join(f"{e.path}: {e.problem}" for e in self.problems))
        self.box.open()  # window-modal, not blocking


def _reason(entry: LibraryEntry) -> str:
    """The reason, its file's name in bold (the engine's sentences mostly start with it)."""
    name, problem = html.escape(entry.path.name), html.escape(entry.problem)
    if problem.startswith(name):
        return f"<b>{name}</b>{problem[len(name) :]}"
    return f"<b>{name}</b>: {problem}"
