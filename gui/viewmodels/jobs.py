"""Every job the user started, and where each one is: queued, running, paused, ended."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import Enum

from PySide6.QtCore import QObject, Signal

from engine.api.events import (
    Cancelled,
    Failed,
    Finished,
    Metrics,
    Paused,
    Progress,
    Queued,
    Resumed,
    Started,
)
from engine.api.kinds import Lane
from engine.api.requests import Request


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLING = "cancelling…"
    STOPPING = "stopping…"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED)


@dataclass(frozen=True)
class JobState:
    job_id: int
    request: Request
    lane: Lane
    status: JobStatus = JobStatus.QUEUED
    step: int = 0
    total: int = 0
    eta_s: float | None = None
    it_per_s: float | None = None
    message: str = ""  # "Loading model…", or why it failed
    metrics: dict[str, float] = field(default_factory=dict)
    updated_at: float = 0.0  # time.monotonic() of the last progress report
    worker: str = ""  # the cluster worker that runs it ("" on this computer)

    @property
    def label(self) -> str:
        return self.request.describe()

    @property
    def status_text(self) -> str:
        if self.status in (JobStatus.RUNNING, JobStatus.PAUSED) and self.total:
            text = f"{self.step}/{self.total}"
            text = f"{text} paused" if self.status is JobStatus.PAUSED else text
            return f"{text} on {self.worker}" if self.worker else text
        return self.status.value


def progress_text(state: JobState, now: float | None = None) -> str:
    """The status bar's words for a running job: "Step 4/20 · 2.1 it/s · ETA 0:08".

    The step shown is the one being worked on (step 1 while the first runs, with a busy
    bar), and the ETA counts down between two progress reports.
    """
    if state.message and not state.step:
        return state.message
    if not state.total:
        return "Starting…"
    if state.status is JobStatus.PAUSED:  # no rate and no ETA: nothing is moving
        return f"Paused at step {state.step:,}/{state.total:,}"
    working_on = min(state.step + 1, state.total)
    parts = [f"Step {working_on}/{state.total}"]
    if state.it_per_s:
        rate = state.it_per_s
        parts.append(f"{rate:.2f} it/s" if rate >= 1 else f"{1 / rate:.2f} s/it")
    eta = remaining_s(state, now)
    if eta is not None:
        parts.append(f"ETA {format_duration(eta)}")
    if state.worker:
        parts.append(f"on {state.worker}")
    return " · ".join(parts)


def remaining_s(state: JobState, now: float | None = None) -> float | None:
    if state.eta_s is None:
        return None
    elapsed = (time.monotonic() if now is None else now) - state.updated_at
    return max(0.0, state.eta_s - elapsed)


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return "<1 s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class JobsModel(QObject):
    added = Signal(object)  # JobState
    changed = Signal(object)  # JobState
    removed = Signal(int)  # job id

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: dict[int, JobState] = {}

    # ------------------------------------------------------------ reading

    def get(self, job_id: int) -> JobState | None:
        return self._jobs.get(job_id)

    def all(self) -> list[JobState]:
        return list(self._jobs.values())

    def active(self) -> list[JobState]:
        return [s for s in self._jobs.values() if not s.status.ended]

    def running(self) -> list[JobState]:
        """Running (or paused) jobs the queue lists, the most recently started last."""
        return [
            s
            for s in self._jobs.values()
            if s.request.listed and s.status is not JobStatus.QUEUED and not s.status.ended
        ]

    # ------------------------------------------------------------ engine events

    def apply(self, event: object) -> None:
        if isinstance(event, Queued):
            state = JobState(event.job_id, event.request, event.lane)
            self._jobs[event.job_id] = state
            self.added.emit(state)
            return
        state = self._jobs.get(getattr(event, "job_id", -1))
        if state is None:
            return
        if isinstance(event, Started):
            # Re-inserted so that running() lists jobs in the order they started.
            del self._jobs[state.job_id]
            self._jobs[state.job_id] = state
        update = self._update_for(state, event)
        if update is not None:
            self._set(update)

    def _update_for(self, state: JobState, event: object) -> JobState | None:
        keep_stopping = state.status in (JobStatus.CANCELLING, JobStatus.STOPPING)
        if isinstance(event, Started):
            return replace(state, status=JobStatus.RUNNING, worker=event.worker)
        if isinstance(event, Progress):
            status = state.status if keep_stopping else JobStatus.RUNNING
            return replace(
                state,
                status=status,
                step=event.step,
                total=event.total,
                eta_s=event.eta_s,
                it_per_s=event.it_per_s,
                message=event.message,
                updated_at=time.monotonic(),
            )
        if isinstance(event, Metrics):
            return replace(state, metrics=dict(event.values))
        if isinstance(event, Paused):
            return replace(state, status=JobStatus.PAUSED)
        if isinstance(event, Resumed):
            return replace(state, status=JobStatus.RUNNING)
        if isinstance(event, Finished):
            return replace(state, status=JobStatus.DONE)
        if isinstance(event, Cancelled):
            return replace(state, status=JobStatus.CANCELLED)
        if isinstance(event, Failed):
            return replace(state, status=JobStatus.FAILED, message=event.message)
        return None

    # ------------------------------------------------------------ user actions

    def mark(self, job_id: int, status: JobStatus) -> None:
        """Show a request the user made (cancel, stop) before the engine confirms it."""
        state = self._jobs.get(job_id)
        if state is not None and not state.status.ended:
            self._set(replace(state, status=status))

    def clear_finished(self) -> None:
        for job_id in [j for j, s in self._jobs.items() if s.status.ended]:
            del self._jobs[job_id]
            self.removed.emit(job_id)

    def _set(self, state: JobState) -> None:
        self._jobs[state.job_id] = state
        self.changed.emit(state)
        if state.status.ended and not state.request.listed:
            del self._jobs[state.job_id]  # a slider's frames: nothing to keep
            self.removed.emit(state.job_id)
