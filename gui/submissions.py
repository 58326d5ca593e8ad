"""Starting jobs for the panels, and handing each its own replies.

A panel's request goes to the engine; the handle that comes back goes to the panel that
asked (`ModePanel.listen`, or the caller of its `send`), whose slots hear that job alone.
Nothing here knows one request type from another: a failure is told in a box unless the
asking panel lists its failures itself.
"""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.api.kinds import Lane
from engine.api.requests import Request
from engine.handle import JobHandle
from engine.interface import Engine
from gui.mode_panel import ModePanel
from gui.notices import Notices


class Submissions:
    def __init__(self, client: Engine, notices: Notices) -> None:
        self.client = client
        self.notices = notices

    def connect(self, panel: ModePanel) -> None:
        """Let a panel start jobs of its own: by `send` (it listens to the handle), or
        by a `submit_requested` signal (it listens in `listen`, as for a Generate)."""
        panel.set_submit(lambda request: self.send(panel, request))
        if (signal := getattr(panel, "submit_requested", None)) is not None:
            signal.connect(lambda request: self.submit(panel, request))

    def send(self, panel: ModePanel, request: Request) -> JobHandle | None:
        """Start `request` for `panel`; None (and a sentence) when it is refused."""
        try:
            handle = self.client.submit(request)
        except BadInput as exc:
            self.notices.error("Cannot start", exc.message)
            return None
        handle.failed.connect(lambda message, _kind: self._failed(panel, request, message))
        return handle

    def submit(self, panel: ModePanel, request: Request) -> JobHandle | None:
        """Start a request the panel built; the panel listens to the job."""
        handle = self.send(panel, request)
        if handle is not None:
            panel.listen(request, handle)
        return handle

    def generate(self, panel: ModePanel) -> list[JobHandle]:
        """Every job of one Generate, all or none: raises BadInput before starting any."""
        requests = panel.build_requests()
        for request in requests:
            request.validate()
        return [h for request in requests if (h := self.submit(panel, request)) is not None]

    def _failed(self, panel: ModePanel, request: Request, message: str) -> None:
        if request.shows_own_failures:
            return  # the asker shows it where it belongs (a preview's thumbnail)
        if panel.reports_failures:  # the panel marks it in its own list
            self.notices.last_error = message
        else:
            training = request.lane is Lane.TRAIN
            self.notices.error("Training stopped" if training else "Generation failed", message)
