"""What the main window needs from a mode's control panel (Create, Latent Lab, Gallery…).

A panel that makes things builds requests and hears about the jobs it submitted; the
main window knows nothing about any one mode beyond this.
"""

from __future__ import annotations

from typing import ClassVar

from engine.api.outcomes import Outcome
from engine.api.requests import Request


class ModePanel:
    """Mixin for the QWidget of a mode: override what applies."""

    title: ClassVar[str] = ""
    # Whether Generate (Ctrl+Enter) means anything in this mode.
    generates: ClassVar[bool] = True

    def build_request(self) -> Request:
        raise NotImplementedError

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        """A job this panel submitted finished (remember its seed for Reuse…)."""

    def job_event(self, request: Request, event: object) -> None:
        """An event of a job this panel submitted, while it runs (Metrics of a training…)."""

    def job_ended_without_outcome(self, request: Request, message: str) -> None:
        """A job this panel submitted failed or was cancelled; `message` says which."""

    def activated(self) -> None:
        """The user switched to this mode."""
