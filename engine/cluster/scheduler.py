"""Which worker runs which job: a batch fanned out over every worker.

- at most two jobs in flight per worker (one running, the next already there, so a
  worker never waits for the network between two jobs);
- a job goes first to a worker that already holds its model (by sha256), then to the
  least busy one;
- a worker that dies mid-job (WorkerLost) is dropped and its unfinished jobs go back to
  the front of the queue, to run again on another: every job ends exactly once,
  whatever died when, because an ending is delivered only for a job not ended yet;
- with no worker left, jobs wait (the user is told) until workers are added again;
- a lost connection to the cluster (ConnectionLost) takes every worker with it: the
  jobs in flight go back to the queue as they were (no try counted, the job did
  nothing wrong), each once, and wait until the session has reconnected and
  `replace_workers` gives new ones; what had arrived before stays delivered.

Plain threads: one dispatcher, and one thread per job in flight reading its stream.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.api.errors import UserFacingError
from engine.api.events import ENDINGS, Cancelled, Event, Failed, Finished, Progress, Started
from engine.api.kinds import ErrorKind, Lane
from engine.api.outcomes import ImagesOutcome
from engine.api.requests import Request, request_to_dict
from engine.api.wire import event_from_data
from engine.cluster.data_files import IMAGE_TAG
from engine.cluster.model_shipping import Manifest, ModelShipper
from engine.cluster.pool import ConnectionLost, FilesGone, RemoteWorker, WorkerLost
from engine.cluster.request_files import (
    sentence_with_user_paths,
    source_of,
    with_user_paths,
)

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 2
MAX_TRIES = 3  # a job that kills three workers is not sent to a fourth
CONNECTION_LOST = "Cluster connection lost — retrying…"


@dataclass(eq=False)
class RemoteJob:
    job_id: int
    request: Request
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    manifest: Manifest | None = None  # its model's (for affinity)
    # every file it names (None: a key with no bytes: engine.cluster.data_files)
    files: list[tuple[str, Manifest | None]] = field(default_factory=list)
    placed: dict[str, str] = field(default_factory=dict)  # each file, where its worker has it
    prepared: bool = False  # its manifests made (or found to be none)
    worker: RemoteWorker | None = None  # while in flight
    cancelled: bool = False
    paused: bool = False  # asked to pause (a waiting job starts paused, as a local one)
    pause_asks: int = 0  # pauses and resumes asked so far: the worker heeds the latest
    ended: bool = False
    tries: int = 0
    # Who hears its events instead of the gallery (a plot's cell: engine.cluster.plot_fanout)
    listener: Callable[[RemoteJob, Event], None] | None = None


Deliver = Callable[[RemoteJob, Event], None]


class Scheduler:
    def __init__(
        self,
        workers: list[RemoteWorker],
        deliver: Deliver,
        shipper: ModelShipper | None = None,
        on_trouble: Callable[[str], None] = lambda message: None,
        per_worker: int = IN_FLIGHT_PER_WORKER,
        on_disconnect: Callable[[], None] = lambda: None,
    ) -> None:
        self.workers = list(workers)
        self._deliver = deliver
        self._shipper = shipper or ModelShipper()
        self._on_trouble = on_trouble
        self._on_disconnect = on_disconnect
        self._per_worker = per_worker
        self._pending: deque[RemoteJob] = deque()
        self._flying: dict[RemoteJob, RemoteWorker] = {}
        self._jobs: dict[int, RemoteJob] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="cluster", daemon=True)
        self._dispatcher.start()

    # ------------------------------------------------------------ asking

    def submit(self, job: RemoteJob) -> bool:
        """Queue a job; False once closed (the caller runs it elsewhere). Its model is
        hashed later, on the dispatcher's thread: never on the asker's."""
        with self._cond:
            if self._closed:
                return False
            self._jobs[job.job_id] = job
            self._pending.append(job)
            self._cond.notify_all()
            return True

    def cancel(self, job_id: int) -> bool:
        """Cancel a job of this scheduler (False when it has no such job)."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            job.cancelled = True
            waiting = job in self._pending
            if waiting:  # ended here: no thread of its own will forget it
                self._pending.remove(job)
                self._jobs.pop(job_id, None)
            worker = self._flying.get(job)
        if waiting:
            self._end(job, Cancelled(job_id))
        elif worker is not None:
            worker.cancel(job.key)
        return True

    def stop(self, job_id: int) -> bool:
        """Stop a job: a training in flight ends at its step, its checkpoint sent back (a
        Finished, stopped early); a waiting job is cancelled. False without such a job."""
        with self._cond:
            job = self._jobs.get(job_id)
            worker = self._flying.get(job) if job is not None else None
        if job is None:
            return False
        if worker is None:
            return self.cancel(job_id)
        worker.stop(job.key)
        return True

    def pause(self, job_id: int) -> bool:
        """Pause a job at its next step (Paused comes back from its worker); a waiting job
        is paused when it starts, as a local lane's queued job is. False without such a job."""
        return self._ask_pause(job_id, True)

    def resume(self, job_id: int) -> bool:
        return self._ask_pause(job_id, False)

    def _ask_pause(self, job_id: int, paused: bool) -> bool:
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return False
            job.paused = paused
            job.pause_asks += 1
            order = job.pause_asks
            worker = self._flying.get(job)
        if worker is not None:  # else remembered: _run tells its worker when it starts
            (worker.pause if paused else worker.resume)(job.key, order)
        return True

    def add_workers(self, workers: list[RemoteWorker]) -> None:
        with self._cond:
            self.workers.extend(workers)
            self._cond.notify_all()

    def replace_workers(self, workers: list[RemoteWorker]) -> None:
        """The workers of a new connection, instead of those that went with the old."""
        with self._cond:
            for worker in self.workers:
                worker.alive = False
            self.workers = list(workers)
            self._cond.notify_all()

    def alive_workers(self) -> list[RemoteWorker]:
        with self._cond:
            return [w for w in self.workers if w.alive]

    def running_on(self, job_id: int) -> RemoteWorker | None:
        with self._cond:
            job = self._jobs.get(job_id)
            return self._flying.get(job) if job is not None else None

    def lane_of(self, job_id: int) -> Lane | None:
        with self._cond:
            job = self._jobs.get(job_id)
            return job.request.lane if job is not None else None

    def job_ids(self) -> list[int]:
        with self._cond:
            return sorted(self._jobs)

    def close(self) -> list[RemoteJob]:
        """Stop dispatching; cancel what runs; return the jobs never started."""
        with self._cond:
            self._closed = True
            left = list(self._pending)
            self._pending.clear()
            for job in left:  # theirs to run now, and to cancel
                self._jobs.pop(job.job_id, None)
            flying = list(self._flying.items())
            self._cond.notify_all()
        for job, worker in flying:
            job.cancelled = True
            worker.cancel(job.key)
        return left

    # ------------------------------------------------------------ dispatching

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closed or self._unprepared() or self._next() is not None
                )
                if self._closed:
                    return
                todo = self._unprepared()
                if todo is None:
                    job, worker = self._next()
                    self._pending.remove(job)
                    self._flying[job] = worker
                    job.worker = worker
            if todo is not None:  # its model's sha256, for affinity (cached after once)
                self._prepare(todo)
                continue
            threading.Thread(
                target=self._run, args=(job, worker), name=f"job-{job.job_id}", daemon=True
            ).start()

    def _unprepared(self) -> RemoteJob | None:
        return next((job for job in self._pending if not job.prepared), None)

    def _prepare(self, job: RemoteJob) -> None:
        try:
            job.files = self._shipper.files(job.request)
            model = getattr(getattr(job.request, "model", None), "id", None)
            job.manifest = next((m for text, m in job.files if text == model), None)
        except OSError as exc:  # unreadable here: the worker says what is wrong
            log.warning("could not read the model of job %s: %s", job.job_id, exc)
        except UserFacingError as exc:  # a training's folder that is none here
            self._refuse(job, exc)
            return
        with self._cond:
            job.prepared = True

    def _refuse(self, job: RemoteJob, exc: UserFacingError) -> None:
        """End a job that cannot be sent, before any worker is asked."""
        with self._cond:
            if job in self._pending:
                self._pending.remove(job)
            self._jobs.pop(job.job_id, None)
        self._end(job, Failed(job.job_id, exc.message, exc.kind))

    def _next(self) -> tuple[RemoteJob, RemoteWorker] | None:
        """The first waiting job and the worker it should go to (under the lock)."""
        if not self._pending or not self._pending[0].prepared:
            return None
        load = {w: 0 for w in self.workers if w.alive}
        for worker in self._flying.values():
            if worker in load:
                load[worker] += 1
        free = [w for w, n in load.items() if n < self._per_worker]
        if not free:
            return None
        job = self._pending[0]
        sha = job.manifest.sha256 if job.manifest is not None else None
        # Holding the model first, then the least busy, then the order they were started.
        best = min(free, key=lambda w: (sha not in w.models, load[w], self.workers.index(w)))
        return job, best

    # ------------------------------------------------------------ one job on one worker

    def _run(self, job: RemoteJob, worker: RemoteWorker) -> None:
        try:
            job.placed = self._place_files(job, worker)
            data = request_to_dict(job.request)
            with self._cond:
                paused, order = job.paused, job.pause_asks
            if paused:  # paused while it waited: its worker pauses it at its first step
                worker.pause(job.key, order)
            for item in worker.stream(job.key, data, tuple(job.placed.items())):
                self._receive(job, worker, event_from_data(item))
            if not job.ended:  # a stream that ended without an ending: the worker went
                raise WorkerLost(f"{worker.name} stopped answering")
        except (ConnectionLost, ConnectionError) as exc:  # ray.put's, too, when shipping
            self._held(job, worker, exc)
        except WorkerLost as exc:
            self._lost(job, worker, exc)
        except FilesGone as exc:  # rare: another job's files took their room meanwhile
            self._shipper.forget(worker, exc.shas)
            with self._cond:
                again = not self._closed and not job.cancelled
                if again:
                    self._pending.appendleft(job)
            if not again:
                self._end(job, Cancelled(job.job_id))
        except UserFacingError as exc:  # a file the worker's cache cannot take
            self._end(job, Failed(job.job_id, exc.message, exc.kind))
        except Exception as exc:  # noqa: BLE001 - a job's trouble must not end the scheduler
            log.exception("cluster job %s failed on %s", job.job_id, worker.name)
            message = f"The cluster could not run this job ({type(exc).__name__}: {exc})."
            self._end(job, Failed(job.job_id, message, ErrorKind.INTERNAL))
        finally:
            with self._cond:
                self._flying.pop(job, None)
                if job.ended:
                    self._jobs.pop(job.job_id, None)
                self._cond.notify_all()

    def _place_files(self, job: RemoteJob, worker: RemoteWorker) -> dict[str, str]:
        placed = {}
        images = []  # a training's: placed together (engine.cluster.data_files)
        for text, manifest in job.files:
            if manifest is None:  # a training's data folder, or a stand-in: nothing sent
                placed[text] = ""
            elif text.startswith(IMAGE_TAG):
                images.append((text, manifest))
            else:
                source = Path(source_of(text)).expanduser()
                placed[text] = self._shipper.place(worker, manifest, source, job.key)
        if images:
            placed.update(self._shipper.place_images(worker, images, job.key))
        worker.models.update(manifest.sha256 for _, manifest in job.files if manifest)
        return {text: placed[text] for text, _ in job.files}  # in the job's order

    def _receive(self, job: RemoteJob, worker: RemoteWorker, event: object) -> None:
        event = replace(event, job_id=job.job_id)
        if isinstance(event, Started):
            event = replace(event, request=job.request, worker=worker.name)
        if isinstance(event, Finished) and isinstance(event.outcome, ImagesOutcome):
            images = tuple(  # the pictures' info names the user's files, not the worker's
                replace(image, info=with_user_paths(image.info, job.placed))
                for image in event.outcome.images
            )
            event = replace(event, outcome=replace(event.outcome, images=images))
        if isinstance(event, Failed):
            event = replace(event, message=sentence_with_user_paths(event.message, job.placed))
        if isinstance(event, ENDINGS):
            self._end(job, event)
        elif not job.ended:
            self._deliver(job, event)

    def _end(self, job: RemoteJob, event: Event) -> None:
        """Deliver a job's ending, once whatever happens after."""
        with self._cond:
            if job.ended:
                return
            job.ended = True
        self._deliver(job, event)

    def _lost(self, job: RemoteJob, worker: RemoteWorker, exc: Exception) -> None:
        log.warning("lost %s (%s)", worker.name, exc)
        if self._closed:
            self._end(job, Cancelled(job.job_id))
            return
        with self._cond:
            worker.alive = False
            alive = any(w.alive for w in self.workers)
            again = not job.ended and not job.cancelled and job.tries + 1 < MAX_TRIES
            if again:
                job.tries += 1
                self._pending.appendleft(job)
        if job.cancelled:
            self._end(job, Cancelled(job.job_id))
        elif not again:
            message = f"{worker.name} stopped while running this job, {MAX_TRIES} times."
            self._end(job, Failed(job.job_id, message, ErrorKind.INTERNAL))
        else:
            where = "on another worker" if alive else "when a worker is back"
            text = f"{worker.name} stopped; running this again {where}"
            self._deliver(job, Progress(job.job_id, 0, 1, message=text))
        if not alive:
            self._on_trouble(
                "Every worker of the cluster is gone. The pictures that arrived are kept; "
                "the rest wait until the cluster is back."
            )

    def _held(self, job: RemoteJob, worker: RemoteWorker, exc: Exception) -> None:
        """The connection went while `job` ran on `worker`: every worker of that
        connection is gone, and the job waits for the next, once, as it was."""
        log.warning("lost the cluster while %s ran job %s (%s)", worker.name, job.job_id, exc)
        with self._cond:
            current = worker in self.workers  # not a straggler from a connection replaced
            if current:
                for each in self.workers:
                    each.alive = False
            held = not (self._closed or job.ended or job.cancelled)
            if held:
                self._pending.appendleft(job)
        if not held:
            self._end(job, Cancelled(job.job_id))
            return
        self._deliver(job, Progress(job.job_id, 0, 1, message=CONNECTION_LOST))
        if current:
            self._on_disconnect()
