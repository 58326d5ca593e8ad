"""What the Explore tab needs from each of its tools (one page per tool)."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from engine.api.outcomes import Outcome
from engine.api.parts import ModelRef
from engine.api.requests import Request


class ExplorePage(QWidget):
    """A tool of the Explore tab. A page that runs with the Generate button builds a
    request; a live page (sliders, scrubbing) sends its own small interactive jobs."""

    # The Generate button's text on this page; None: the page is live, no button.
    run_text: ClassVar[str | None] = None
    submit = Signal(object)  # an interactive request to run now (live pages)

    def set_model(self, model: ModelRef | None) -> None:
        """The Lab's model changed, or this page was shown: live pages fetch what they
        need for it (their axes, its noise schedule)."""

    def handles(self, request: Request) -> bool:
        return False

    def build_request(self, model: ModelRef) -> Request:
        raise NotImplementedError

    def apply_request(self, request: Request) -> None:
        """Use these parameters: fill the page from a recipe."""

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        pass

    def job_failed(self, request: Request, message: str) -> None:
        pass


def about_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet("color: #a8a8a8;")
    return label
