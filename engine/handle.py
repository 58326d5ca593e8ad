"""A per-job handle with typed signals, for code that follows one job (superqt style).

    handle = engine.submit(request)
    handle.progress.connect(...); handle.finished.connect(...)

The engine's `event` signal carries every job's events; a handle re-emits just its own,
on the GUI thread, in the engine's order and before `event` does: queued (inside
submit, before it returns), started, (progress | preview | metrics | frames | paused |
resumed)*, then exactly one of finished, cancelled, failed. A handle knows only how
to control jobs by id (`JobControls`), not which engine runs them.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Signal

from engine.api.events import (
    ENDINGS,
    Cancelled,
    Failed,
    Finished,
    Frames,
    Metrics,
    Paused,
    Preview,
    Progress,
    Queued,
    Resumed,
    Started,
)


class JobControls(Protocol):
    """What a handle asks of its engine: control one job by its id."""

    def cancel(self, job_id: int) -> None: ...
    def stop(self, job_id: int) -> None: ...
    def pause(self, job_id: int) -> None: ...
    def resume(self, job_id: int) -> None: ...


class JobHandle(QObject):
    queued = Signal()
    started = Signal()
    progress = Signal(object)  # Progress
    preview = Signal(object)  # numpy H x W x 3 uint8
    metrics = Signal(object)  # Metrics
    frames = Signal(object)  # Frames
    paused = Signal()
    resumed = Signal()
    finished = Signal(object)  # the Outcome
    cancelled = Signal()
    failed = Signal(str, str)  # message, ErrorKind value

    def __init__(self, controls: JobControls, job_id: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controls = controls
        self.job_id = job_id
        self.ended = False

    def cancel(self) -> None:
        self._controls.cancel(self.job_id)

    def stop(self) -> None:
        self._controls.stop(self.job_id)

    def pause(self) -> None:
        self._controls.pause(self.job_id)

    def resume(self) -> None:
        self._controls.resume(self.job_id)

    def deliver(self, event: object) -> None:
        """Re-emit one event of this job as its typed signal."""
        if isinstance(event, Queued):
            self.queued.emit()
        elif isinstance(event, Started):
            self.started.emit()
        elif isinstance(event, Progress):
            self.progress.emit(event)
        elif isinstance(event, Preview):
            self.preview.emit(event.rgb)
        elif isinstance(event, Metrics):
            self.metrics.emit(event)
        elif isinstance(event, Frames):
            self.frames.emit(event)
        elif isinstance(event, Paused):
            self.paused.emit()
        elif isinstance(event, Resumed):
            self.resumed.emit()
        elif isinstance(event, ENDINGS):
            self.ended = True
            if isinstance(event, Finished):
                self.finished.emit(event.outcome)
            elif isinstance(event, Cancelled):
                self.cancelled.emit()
            elif isinstance(event, Failed):
                self.failed.emit(event.message, event.kind.value)
