"""The search field above the gallery grid: the query as typed (searched at each edit), with the
language's help as its tooltip, the filter widgets under it (gui/gallery_filters.py, which
edit the text) and a sentence when the query is malformed."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from engine.store.query import QUERY_HELP
from gui.gallery_filters import FilterRow

# No typing pause: each keystroke searches at once, and the searcher skips a search typed
# over before it started (and its count, if typed over meanwhile), so at most one stale
# search is ever in the way. A 150 ms pause alone missed keystroke → painted ≤ 100 ms.
DEBOUNCE_MS = 0


class SearchBar(QWidget):
    query_changed = Signal(str)  # the query, at each edit (coalesced within one event turn)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit()
        self.field.setPlaceholderText("Search: fox -blurry model:juggernaut stars:>=3")
        self.field.setToolTip(QUERY_HELP)
        self.field.setClearButtonEnabled(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e07070;")
        self.problem.hide()
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.query_changed.emit(self.text))
        self.field.textChanged.connect(lambda _text: self._timer.start())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field)
        self.filters = FilterRow(self.field)
        layout.addWidget(self.filters)
        layout.addWidget(self.problem)

    @property
    def text(self) -> str:
        return self.field.text().strip()

    def set_text(self, text: str) -> None:
        """Put back a saved query (searched as if typed)."""
        self.field.setText(text)

    def show_problem(self, sentence: str | None) -> None:
        """The malformed query's sentence under the field (None: the query is fine)."""
        self.problem.setText(sentence or "")
        self.problem.setVisible(bool(sentence))
