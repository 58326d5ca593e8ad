"""The one long-lived engine thread. It owns torch, the model cache and the device.

It takes jobs from the JobQueue, runs each through a Runtime, and reports everything
as events (engine.jobs dataclasses) through one Qt signal. Whatever a job does, the
worker lives on to run the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QThread, Signal

from engine.context import JobContext
from engine.errors import JobCancelled, OutOfMemory, UserFacingError, is_out_of_memory
from engine.jobs import (
    Cancelled,
    DeviceInfo,
    Event,
    Failed,
    Finished,
    Request,
    ResultImage,
    Started,
)
from engine.queue import Job, JobQueue

log = logging.getLogger(__name__)

OOM_ADVICE = (
    "The device ran out of memory. Try a smaller size or batch, close other programs "
    "that use the GPU, or switch to the CPU in Settings."
)


class JobRunner(Protocol):
    """What the worker needs from a runtime (the real one, or a scripted one in tests)."""

    def device_info(self) -> DeviceInfo: ...

    def run(self, request: Request, ctx: JobContext) -> tuple[ResultImage, ...]: ...

    def close(self) -> None: ...


def failure_for(exc: BaseException) -> tuple[str, str]:
    """A (message, kind) pair a user can act on, for any exception a runner raised."""
    if isinstance(exc, UserFacingError):
        return exc.message, exc.kind
    if is_out_of_memory(exc):
        return OOM_ADVICE, OutOfMemory.kind
    return (
        f"Something went wrong inside the engine ({type(exc).__name__}: {exc}). "
        "The engine is still running; the details are in the log.",
        "internal",
    )


class EngineWorker(QThread):
    event = Signal(object)

    def __init__(self, queue: JobQueue, make_runner: Callable[[], JobRunner]) -> None:
        super().__init__()
        self.setObjectName("engine-worker")
        self._queue = queue
        self._make_runner = make_runner
        self._current: Job | None = None
        self._reload_requested = False

    def reload_runner(self) -> None:
        """Rebuild the runner (new device or settings) before the next job starts."""
        self._reload_requested = True

    @property
    def current_job(self) -> Job | None:
        return self._current

    def run(self) -> None:
        runner = self._start_runner()
        while (job := self._queue.take()) is not None:
            self._current = job
            if self._reload_requested:
                self._reload_requested = False
                if not isinstance(runner, tuple):
                    runner.close()
                runner = self._start_runner()
            if isinstance(runner, tuple):
                self.event.emit(Failed(job.job_id, *runner))
            else:
                self._run_job(runner, job)
            self._current = None
        if not isinstance(runner, tuple):
            runner.close()

    def _start_runner(self) -> JobRunner | tuple[str, str]:
        """The runner, or the (message, kind) that every job gets if it cannot start."""
        try:
            runner = self._make_runner()  # torch is first imported here, on this thread
        except Exception as exc:  # noqa: BLE001 - report, then keep serving failures
            log.exception("engine failed to start")
            return failure_for(exc)
        self.event.emit(runner.device_info())
        return runner

    def _run_job(self, runner: JobRunner, job: Job) -> None:
        if job.cancel_token.cancelled:
            self.event.emit(Cancelled(job.job_id))
            return
        self.event.emit(Started(job.job_id, job.request))
        ctx = JobContext(job.job_id, emit=self._emit, cancel_token=job.cancel_token)
        try:
            results = runner.run(job.request, ctx)
        except JobCancelled:
            self.event.emit(Cancelled(job.job_id))
        except Exception as exc:  # noqa: BLE001 - the worker must survive any job
            if not isinstance(exc, UserFacingError):
                log.exception("job %s failed", job.job_id)
            self.event.emit(Failed(job.job_id, *failure_for(exc)))
        else:
            self.event.emit(Finished(job.job_id, tuple(results)))

    def _emit(self, event: Event) -> None:
        self.event.emit(event)
