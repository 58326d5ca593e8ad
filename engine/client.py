"""The bridge between the GUI thread and the engine thread.

A QObject with submit()/cancel() and one `event` signal that delivers engine.jobs
events on the GUI thread. This module must stay importable without torch: the
runtime (and with it torch) is imported on the worker thread, inside the factory.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from engine.jobs import Cancelled, Event, Queued, Request
from engine.queue import Job, JobQueue
from engine.store import GalleryStore
from engine.worker import EngineWorker, JobRunner

RunnerFactory = Callable[["EngineClient"], JobRunner]


def default_runner(client: EngineClient) -> JobRunner:
    from engine.runtime import Runtime  # heavy: torch, diffusers; worker thread only

    return Runtime(store=lambda: client.gallery, device_preference=client.device_preference)


class EngineClient(QObject):
    event = Signal(object)  # every engine.jobs event (and DeviceInfo), on the GUI thread

    def __init__(
        self,
        output_dir: Path,
        device_preference: str = "auto",
        make_runner: RunnerFactory = default_runner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._queue = JobQueue()
        self._ids = itertools.count(1)
        self._gallery = GalleryStore(Path(output_dir))
        self._device_preference = device_preference
        self._worker = EngineWorker(self._queue, lambda: make_runner(self))
        self._worker.event.connect(self.event.emit, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if not self._worker.isRunning():
            self._worker.start()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel what runs, drop what waits, and stop the worker thread."""
        for job in self._queue.pending():
            self.cancel(job.job_id)
        if (job := self._worker.current_job) is not None:
            job.cancel_token.cancel()
        self._queue.close()
        self._worker.wait(timeout_ms)

    # ------------------------------------------------------------ jobs

    def submit(self, request: Request, replace_key: str | None = None) -> int:
        """Queue a request and return its job id. Raises BadInput for an invalid request."""
        request.validate()
        job = Job(next(self._ids), request, replace_key)
        self.event.emit(Queued(job.job_id, request))
        replaced = self._queue.put(job)
        if replaced is not None:
            self.event.emit(Cancelled(replaced.job_id))
        return job.job_id

    def cancel(self, job_id: int) -> None:
        """Remove a pending job at once; ask a running one to stop at its next step."""
        if self._queue.remove(job_id) is not None:
            self.event.emit(Cancelled(job_id))
        elif (job := self._worker.current_job) is not None and job.job_id == job_id:
            job.cancel_token.cancel()

    def cancel_running(self) -> int | None:
        job = self._worker.current_job
        if job is None:
            return None
        job.cancel_token.cancel()
        return job.job_id

    @property
    def running_job_id(self) -> int | None:
        job = self._worker.current_job
        return job.job_id if job else None

    def pending_job_ids(self) -> list[int]:
        return [job.job_id for job in self._queue.pending()]

    # ------------------------------------------------------------ settings

    @property
    def gallery(self) -> GalleryStore:
        return self._gallery

    @property
    def device_preference(self) -> str:
        return self._device_preference

    def set_output_dir(self, output_dir: Path) -> None:
        if Path(output_dir) != self._gallery.root:
            self._gallery = GalleryStore(Path(output_dir))

    def set_device_preference(self, preference: str) -> None:
        if preference != self._device_preference:
            self._device_preference = preference
            self._worker.reload_runner()


__all__ = ["EngineClient", "Event"]
