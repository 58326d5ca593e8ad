"""What the main window needs from a mode's control panel (Create, Latent Lab, Gallery…).

A panel that makes things builds requests; once one is a job, the panel listens to that
job's own handle (its typed signals), so every reply goes to whoever asked. A panel
names the recipes it reopens ("Use these parameters") by `Request.reopens_in`; the main
window knows nothing about any one mode beyond this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from PySide6.QtWidgets import QWidget

from engine.api.requests import Request
from engine.handle import JobHandle

# Starts a request as a job and returns its handle (None: refused, and the user told why).
Send = Callable[[Request], JobHandle | None]


def _refuse(_request: Request) -> JobHandle | None:
    return None  # a panel on its own (no window to start jobs): nothing starts


class ModePanel:
    """Mixin for the QWidget of a mode: override what applies."""

    title: ClassVar[str] = ""
    # Whether Generate (Ctrl+Enter) means anything in this mode.
    generates: ClassVar[bool] = True
    # Whether the panel shows its jobs' failures itself (a batch's list marks them): the
    # window then puts them in the status bar instead of a box per failed job.
    reports_failures: ClassVar[bool] = False
    # The places (Request.reopens_in values) whose recipes this panel reopens.
    reopens: ClassVar[tuple[str, ...]] = ()
    # What the shared canvas says while it shows nothing, in this mode.
    canvas_hint: ClassVar[str] = "Press Generate (Ctrl+Enter) to make an image."
    # What the right side of the window shows in this mode (None: the shared canvas).
    main_view: QWidget | None = None
    # How the panel starts jobs of its own (a training, a score, a live page's frame).
    send: Send = staticmethod(_refuse)

    def set_submit(self, send: Send) -> None:
        self.send = send

    def own_views(self) -> list[QWidget]:
        """Every view this panel may put on the right side (the window holds them)."""
        return [self.main_view] if self.main_view is not None else []

    def shown_view(self) -> QWidget | None:
        """What the right side shows now (None: the shared canvas). A panel whose choice
        changes (the Lab's History tab) says so with a `view_changed` signal."""
        return self.main_view

    def build_request(self) -> Request:
        raise NotImplementedError

    def build_requests(self) -> list[Request]:
        """Every job one Generate starts (Upscale: one per input image)."""
        return [self.build_request()]

    def listen(self, request: Request, handle: JobHandle) -> None:
        """A request this panel built is now a job: connect the handle's signals it follows."""

    def reopen(self, request: Request, seed: int | None) -> None:
        """Use these parameters: fill the panel from a recipe it reopens (its own seed)."""
        raise NotImplementedError

    def activated(self) -> None:
        """The user switched to this mode."""
