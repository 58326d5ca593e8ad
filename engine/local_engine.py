"""The engine that runs jobs in this process: the bridge between the GUI thread and its lanes.

It implements engine.interface.Engine: a QObject with submit()/cancel()/stop()/pause()/
resume(). submit() returns a JobHandle whose typed signals follow that job alone (what its
asker listens to); every event also goes out on the one `event` signal (the queue, the
status bar), on the GUI thread, after the job's handle has had it. Each lane (interactive,
generate, train) has its own queue and long-lived thread, so a training job never blocks a
slider and a Stable Diffusion job never blocks either. This module stays importable
without torch: the runtime (and with it torch) is created on a lane's thread, inside the
factory.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from engine.api import catalogue
from engine.api.catalogue import CatalogueEntry
from engine.api.events import Cancelled, Event, Queued
from engine.api.kinds import Lane
from engine.api.requests import Request
from engine.handle import JobHandle
from engine.queue import Job, JobQueue
from engine.store import GalleryStore
from engine.worker import JobRunner, LaneWorker, RuntimeHolder, StartFailure

log = logging.getLogger(__name__)

RuntimeFactory = Callable[["LocalEngine"], JobRunner]

# Lane threads still inside a non-cancellable call (loading weights) when the app closed.
# Kept referenced so Qt never destroys a running QThread (which aborts the process);
# gui.app ends the process without waiting for them.
_STUCK_WORKERS: list[LaneWorker] = []


def default_runtime(client: LocalEngine) -> JobRunner:
    from engine.runtime import Runtime  # heavy: torch; runs on a lane's thread

    return Runtime(
        store=lambda: client.gallery,
        device_preference=client.device_preference,
        precision=client.precision_preference,
        offload=client.offload_preference,
        compile=client.compile_preference,
    )


def stuck_workers() -> list[LaneWorker]:
    return [w for w in _STUCK_WORKERS if w.isRunning()]


class LocalCatalogue:
    """The models on this computer, as engine.api.catalogue lists them."""

    def lab_models(self) -> list[CatalogueEntry]:
        return catalogue.lab_models()

    def upscaler_models(self, folders: list[Path]) -> list[CatalogueEntry]:
        return catalogue.upscaler_models(folders)

    def user_models_dir(self) -> Path:
        return catalogue.user_models_dir()


class LocalEngine(QObject):
    event = Signal(object)  # every engine event (and DeviceInfo), on the GUI thread

    def __init__(
        self,
        output_dir: Path,
        device_preference: str = "auto",
        make_runtime: RuntimeFactory = default_runtime,
        parent: QObject | None = None,
        precision_preference: str | None = None,
        offload_preference: str = "auto",
        compile_preference: bool = False,
    ) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._shut_down = False
        self._gallery = GalleryStore(Path(output_dir))
        self.catalogue = LocalCatalogue()
        self._device_preference = device_preference
        self._precision_preference = precision_preference
        self.offload_preference = offload_preference  # CUDA (engine.models.sd.offload)
        self.compile_preference = compile_preference  # the CPU (engine.models.sd.compiled)
        self._runtime = RuntimeHolder(lambda: make_runtime(self))
        self._jobs: dict[int, Job] = {}  # every job queued or running
        self._handles: dict[int, JobHandle] = {}
        self._jobs_lock = threading.Lock()
        self._queues = {lane: JobQueue() for lane in Lane}
        self._workers = {
            lane: LaneWorker(lane, queue, self._runtime, self._forget)
            for lane, queue in self._queues.items()
        }
        for worker in self._workers.values():
            worker.event.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._shut_down:  # closed before the delayed start came: nothing to start
            return
        for worker in self._workers.values():
            if not worker.isRunning():
                worker.start()
        # Start the runtime now (torch imports while the user looks at the window) and
        # tell the status bar which device it found.
        self._queues[Lane.INTERACTIVE].call_soon(self._announce_device)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel what runs, drop what waits, stop the lanes; True if every thread ended.

        A thread still inside a call that cannot be interrupted (loading weights) after
        `timeout_ms` is left to finish on its own: never destroyed while running.
        """
        self._shut_down = True
        with self._jobs_lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.control.cancel()
        for queue in self._queues.values():
            queue.close()
        deadline = time.monotonic() + timeout_ms / 1000
        for worker in self._workers.values():
            worker.wait(max(0, int((deadline - time.monotonic()) * 1000)))
        stuck = [w for w in self._workers.values() if w.isRunning()]
        if stuck:
            log.warning("closing with %d engine thread(s) still busy", len(stuck))
            _STUCK_WORKERS.extend(stuck)
        else:
            self._runtime.close()
        self._gallery.close()
        return not stuck

    # ------------------------------------------------------------ jobs

    def submit(self, request: Request, replace_key: str | None = None) -> JobHandle:
        """Queue a request on its lane; the returned handle's typed signals follow this
        job alone (it is queued once this returns). Raises BadInput if invalid."""
        request.validate()
        job = Job(next(self._ids), request, replace_key or request.replace_key)
        handle = self._handles[job.job_id] = JobHandle(self, job.job_id)
        with self._jobs_lock:
            self._jobs[job.job_id] = job
        self._dispatch(Queued(job.job_id, request, request.lane))
        replaced = self._queues[request.lane].put(job)
        if replaced is not None:
            self._forget(replaced)
            self._dispatch(Cancelled(replaced.job_id))
        return handle

    def _dispatch(self, event: object) -> None:
        """Hand an event to its job's handle first, then to everyone on `event`: the one
        who asked hears of its job before the queue and the status bar do."""
        handle = self._handles.get(getattr(event, "job_id", -1))
        if handle is not None:
            handle.deliver(event)
            if handle.ended:
                del self._handles[handle.job_id]
        self.event.emit(event)

    def cancel(self, job_id: int) -> None:
        """Remove a pending job at once; ask a running one to stop at its next step."""
        job = self._job(job_id)
        if job is None:
            return
        job.control.cancel()  # also covers a job between its queue and its thread
        if self._queues[job.request.lane].remove(job_id) is not None:
            self._forget(job)
            self._dispatch(Cancelled(job_id))

    def stop(self, job_id: int) -> None:
        """Finish a training early, keeping what it has done."""
        if (job := self._job(job_id)) is not None:
            job.control.stop()

    def pause(self, job_id: int) -> None:
        if (job := self._job(job_id)) is not None:
            job.control.pause()

    def resume(self, job_id: int) -> None:
        if (job := self._job(job_id)) is not None:
            job.control.resume()

    def cancel_running(
        self, lanes: tuple[Lane, ...] = (Lane.GENERATE, Lane.INTERACTIVE)
    ) -> list[int]:
        """Cancel the jobs running on `lanes` (Esc); returns their ids."""
        cancelled = []
        for lane in lanes:
            job = self._workers[lane].current_job
            if job is not None:
                job.control.cancel()
                cancelled.append(job.job_id)
        return cancelled

    def running_job_id(self, lane: Lane) -> int | None:
        job = self._workers[lane].current_job
        return job.job_id if job else None

    def running_job_ids(self) -> list[int]:
        return [job.job_id for w in self._workers.values() if (job := w.current_job)]

    def pending_job_ids(self) -> list[int]:
        return [job.job_id for queue in self._queues.values() for job in queue.pending()]

    def active_job_ids(self) -> list[int]:
        """Jobs queued or running, in submission order."""
        with self._jobs_lock:
            return sorted(self._jobs)

    def _job(self, job_id: int) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def _forget(self, job: Job) -> None:
        with self._jobs_lock:
            self._jobs.pop(job.job_id, None)

    # ------------------------------------------------------------ settings

    @property
    def gallery(self) -> GalleryStore:
        return self._gallery

    @property
    def device_preference(self) -> str:
        return self._device_preference

    def set_output_dir(self, output_dir: Path) -> None:
        if Path(output_dir).expanduser().absolute() != self._gallery.root:
            old = self._gallery
            self._gallery = GalleryStore(Path(output_dir), sources=old.source_folders)
            old.close()

    def set_device_preference(self, preference: str) -> None:
        """Switch device now: the status bar hears of it at once, not at the next job."""
        if preference == self._device_preference:
            return
        self._device_preference = preference

        def switch() -> None:
            runtime = self._runtime.get()
            if not isinstance(runtime, StartFailure):
                self._workers[Lane.INTERACTIVE].emit(runtime.set_device_preference(preference))

        self._queues[Lane.INTERACTIVE].call_soon(switch)

    @property
    def precision_preference(self) -> str | None:
        return self._precision_preference

    def set_precision_preference(self, precision: str) -> None:
        """ "auto", "fp32" or "bf16" from now on: the status bar hears of it at once."""
        if precision == self._precision_preference:
            return
        self._precision_preference = precision

        def switch() -> None:
            runtime = self._runtime.get()
            if not isinstance(runtime, StartFailure):
                self._workers[Lane.INTERACTIVE].emit(runtime.set_precision_preference(precision))

        self._queues[Lane.INTERACTIVE].call_soon(switch)

    def set_offload_preference(self, offload: str) -> None:
        """ "auto", "none", "model" or "sequential" for the models loaded from now on."""
        if offload == self.offload_preference:
            return
        self.offload_preference = offload

        def switch() -> None:
            runtime = self._runtime.get()
            if not isinstance(runtime, StartFailure):
                self._workers[Lane.INTERACTIVE].emit(runtime.set_offload_preference(offload))

        self._queues[Lane.INTERACTIVE].call_soon(switch)

    def set_compile_preference(self, compile_unet: bool) -> None:
        """Whether the CPU compiles Stable Diffusion's UNet, for models loaded from now on."""
        if compile_unet == self.compile_preference:
            return
        self.compile_preference = compile_unet

        def switch() -> None:
            runtime = self._runtime.get()
            if not isinstance(runtime, StartFailure):
                emit = self._workers[Lane.INTERACTIVE].emit
                emit(runtime.set_compile_preference(compile_unet))

        self._queues[Lane.INTERACTIVE].call_soon(switch)

    def _announce_device(self) -> None:
        runtime = self._runtime.get()
        if not isinstance(runtime, StartFailure):
            self._workers[Lane.INTERACTIVE].emit(runtime.device_info())


__all__ = ["Event", "LocalCatalogue", "LocalEngine", "stuck_workers"]
