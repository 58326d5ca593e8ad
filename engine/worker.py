"""One long-lived engine thread per lane. It runs the jobs of its lane through the runtime.

Jobs come from the lane's JobQueue; everything that happens is reported as events
(engine.api.events dataclasses) through one Qt signal. Whatever a job does, the worker
lives on to run the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QThread, Signal

from engine.api.errors import JobCancelled, UserFacingError, is_out_of_memory, out_of_memory
from engine.api.events import Cancelled, DeviceInfo, Event, Failed, Finished, Started
from engine.api.kinds import ErrorKind, Lane
from engine.api.outcomes import Outcome
from engine.api.requests import Request
from engine.context import JobContext
from engine.queue import Job, JobQueue

log = logging.getLogger(__name__)


class JobRunner(Protocol):
    """What the lanes need from a runtime (the real one, or a scripted one in tests)."""

    def device_info(self) -> DeviceInfo: ...

    def run(self, request: Request, ctx: JobContext) -> Outcome: ...

    def set_device_preference(self, preference: str) -> DeviceInfo: ...

    def set_precision_preference(self, precision: str) -> DeviceInfo: ...

    def set_offload_preference(self, offload: str) -> DeviceInfo: ...

    def set_compile_preference(self, compile_unet: bool) -> DeviceInfo: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StartFailure:
    """Why the runtime could not start; every job then fails with this sentence."""

    message: str
    kind: ErrorKind


def failure_for(exc: BaseException) -> tuple[str, ErrorKind]:
    """A (message, kind) pair a user can act on, for any exception a runner raised."""
    if isinstance(exc, UserFacingError):
        return exc.message, exc.kind
    if is_out_of_memory(exc):
        error = out_of_memory("cpu")
        return error.message, error.kind
    return (
        f"Something went wrong inside the engine ({type(exc).__name__}: {exc}). "
        "The engine is still running; the details are in the log.",
        ErrorKind.INTERNAL,
    )


class RuntimeHolder:
    """Creates the runtime once, on whichever lane needs it first (torch is imported then)."""

    def __init__(self, factory: Callable[[], JobRunner]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._runtime: JobRunner | StartFailure | None = None

    def get(self) -> JobRunner | StartFailure:
        with self._lock:
            if self._runtime is None:
                try:
                    self._runtime = self._factory()
                except Exception as exc:  # noqa: BLE001 - report, then serve the failure
                    log.exception("engine failed to start")
                    self._runtime = StartFailure(*failure_for(exc))
            return self._runtime

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None and not isinstance(runtime, StartFailure):
            runtime.close()


class LaneWorker(QThread):
    event = Signal(object)

    def __init__(
        self,
        lane: Lane,
        queue: JobQueue,
        runtime: RuntimeHolder,
        job_ended: Callable[[Job], None] = lambda job: None,
    ) -> None:
        super().__init__()
        self.lane = lane
        self.setObjectName(f"engine-{lane.value}")
        self._queue = queue
        self._runtime = runtime
        self._job_ended = job_ended
        self._current: Job | None = None

    @property
    def current_job(self) -> Job | None:
        return self._current

    def run(self) -> None:
        while (item := self._queue.take()) is not None:
            if isinstance(item, Job):
                self._current = item
                try:
                    self._run_job(item)
                finally:
                    self._current = None
                    self._job_ended(item)
            else:
                self._run_control(item)

    def _run_control(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # noqa: BLE001 - a control call must not end the lane
            log.exception("engine control call failed on the %s lane", self.lane.value)

    def _run_job(self, job: Job) -> None:
        if job.control.cancelled:  # cancelled after it left the queue, before it started
            self.event.emit(Cancelled(job.job_id))
            return
        runtime = self._runtime.get()
        if isinstance(runtime, StartFailure):
            self.event.emit(Failed(job.job_id, runtime.message, runtime.kind))
            return
        self.event.emit(Started(job.job_id, job.request))
        ctx = JobContext(job.job_id, emit=self.event.emit, control=job.control)
        try:
            outcome = runtime.run(job.request, ctx)
        except Exception as exc:  # noqa: BLE001 - the worker must survive any job
            self._emit_failure(job, exc)
        else:
            self.event.emit(Finished(job.job_id, outcome))

    def _emit_failure(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, JobCancelled):
            self.event.emit(Cancelled(job.job_id))
            return
        if not isinstance(exc, UserFacingError):
            log.exception("job %s failed", job.job_id, exc_info=exc)
        self.event.emit(Failed(job.job_id, *failure_for(exc)))

    def emit(self, event: Event | DeviceInfo) -> None:
        self.event.emit(event)
