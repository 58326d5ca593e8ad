"""What the main window needs from a mode's control panel (Create, Latent Lab, Gallery…).

A panel that makes things builds requests and hears about the jobs it submitted; the
main window knows nothing about any one mode beyond this.
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtWidgets import QWidget

from engine.api.outcomes import Outcome
from engine.api.requests import Request


class ModePanel:
    """Mixin for the QWidget of a mode: override what applies."""

    title: ClassVar[str] = ""
    # Whether Generate (Ctrl+Enter) means anything in this mode.
    generates: ClassVar[bool] = True
    # Whether the panel shows its jobs' failures itself (a batch's list marks them): the
    # window then puts them in the status bar instead of a box per failed job.
    reports_failures: ClassVar[bool] = False
    # What the right side of the window shows in this mode (None: the shared canvas).
    main_view: QWidget | None = None

    def build_request(self) -> Request:
        raise NotImplementedError

    def build_requests(self) -> list[Request]:
        """Every job one Generate starts (Upscale: one per input image)."""
        return [self.build_request()]

    def job_submitted(self, request: Request, job_id: int) -> None:
        """A request of this panel became a job (it is queued)."""

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        """A job this panel submitted finished (remember its seed for Reuse…)."""

    def job_event(self, request: Request, event: object) -> None:
        """An event of a job this panel submitted, while it runs (Metrics of a training…)."""

    def job_ended_without_outcome(self, request: Request, message: str) -> None:
        """A job this panel submitted failed or was cancelled; `message` says which."""

    def activated(self) -> None:
        """The user switched to this mode."""
