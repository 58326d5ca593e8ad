"""What the Explore tab needs from each of its tools (one page per tool)."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from engine.api.outcomes import Outcome
from engine.api.parts import ModelRef
from engine.api.requests import Request
from engine.handle import JobHandle
from gui.mode_panel import Send


class ExplorePage(QWidget):
    """A tool of the Explore tab. A page that runs with the Generate button builds a
    request; a live page (sliders, scrubbing) sends its own small interactive jobs. Either
    way the page listens to its own jobs' handles: their answers come back to it alone."""

    # The Generate button's text on this page; None: the page is live, no button.
    run_text: ClassVar[str | None] = None
    # The place ("explore:<tool>", Request.reopens_in) whose recipes this page reopens.
    reopens: ClassVar[str | None] = None
    _send: Send | None = None

    def set_submit(self, send: Send) -> None:
        self._send = send

    def send(self, request: Request) -> JobHandle | None:
        """Start a job of this page now and listen to it."""
        handle = self._send(request) if self._send is not None else None
        if handle is not None:
            self.listen(request, handle)
        return handle

    def listen(self, request: Request, handle: JobHandle) -> None:
        handle.finished.connect(lambda outcome: self.job_finished(request, outcome))
        handle.failed.connect(lambda message, _kind: self.job_failed(request, message))
        handle.cancelled.connect(lambda: self.job_failed(request, "Cancelled."))

    def set_model(self, model: ModelRef | None) -> None:
        """The Lab's model changed, or this page was shown: live pages fetch what they
        need for it (their axes, its noise schedule)."""

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
