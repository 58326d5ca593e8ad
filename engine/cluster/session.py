"""This computer's part in a cluster, without Qt: the workers, the scheduler, the shipper,
and where finished pictures land. RayEngine (the app) and the command line both drive
one of these.

`submit` runs a request on the cluster; `on_event` hears each of its events (the job's
own id in each), from the scheduler's threads, with a Finished's images already saved
in the local gallery.

Losing workers, or the connection itself, is told through `on_trouble` and mended on
a thread of its own, retrying with back-off (1 s, 2 s, 4 s… up to 30 s) until the
cluster is back: workers started again, after joining the cluster again (`reconnect`)
when the connection went. The jobs waiting meanwhile run then, each once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from engine.api.events import Event, Failed, Finished
from engine.api.requests import Request
from engine.cluster.landing import land
from engine.cluster.model_shipping import ModelShipper
from engine.cluster.pool import RemoteWorker, WorkerOptions, start_workers
from engine.cluster.scheduler import CONNECTION_LOST, RemoteJob, Scheduler
from engine.store import GalleryStore
from engine.worker import failure_for

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0


class ClusterSession:
    def __init__(
        self,
        store: Callable[[], GalleryStore | None],
        on_event: Callable[[Event], None],
        on_trouble: Callable[[str], None] = lambda message: None,
        reconnect: Callable[[], object] | None = None,
    ) -> None:
        self._store = store
        self._on_event = on_event
        self._on_trouble = on_trouble
        self._reconnect = reconnect  # join the cluster again (connect.reconnect)
        self.shipper = ModelShipper()
        self.scheduler = Scheduler(
            [],
            self._deliver,
            self.shipper,
            self._lost_every_worker,
            on_disconnect=self._lost_connection,
        )
        self._options: WorkerOptions | None = None
        self._closed = threading.Event()
        self._recovering = threading.Lock()
        self._disconnected = threading.Event()  # set until joined again
        self._recovering_note = threading.Lock()

    def start_workers(self, options: WorkerOptions) -> list[RemoteWorker]:
        """Start the actors (the cluster must be joined first: connect.connect)."""
        self._options = options
        workers = start_workers(options, first_index=len(self.scheduler.workers) + 1)
        self.scheduler.add_workers(workers)
        return workers

    def _lost_every_worker(self, message: str) -> None:
        """Tell the user, then start workers again until the cluster has room for them:
        the waiting jobs resume on those (what arrived is kept, nothing runs twice)."""
        self._on_trouble(message)
        self._start_recovering()

    def _lost_connection(self) -> None:
        """The connection went: tell the user (once, however many jobs were in flight),
        then join again and start new workers."""
        with self._recovering_note:
            told = self._disconnected.is_set()
            self._disconnected.set()
        if not told:
            self._on_trouble(CONNECTION_LOST)
        self._start_recovering()

    def _start_recovering(self) -> None:
        if self._options is not None and self._recovering.acquire(blocking=False):
            threading.Thread(target=self._recover, name="cluster-recover", daemon=True).start()

    def _recover(self) -> None:
        try:
            delay = RETRY_FIRST_S
            while not self._closed.wait(delay):
                try:
                    message = self._mend()
                except Exception as exc:  # noqa: BLE001 - the cluster is not back yet
                    log.info("cluster not back yet: %s", exc)
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                self._on_trouble(message)
                return
        finally:
            self._recovering.release()
        if self._disconnected.is_set() and not self._closed.is_set():
            self._start_recovering()  # lost again while the last try was succeeding

    def _mend(self) -> str:
        """One try at getting workers again; what to tell the user when it worked."""
        if not self._disconnected.is_set():
            try:
                workers = self.start_workers(self._options)
            except ConnectionError:  # the workers went with the connection: join again
                self._disconnected.set()
                raise
            return f"back, with {workers_text(len(workers))}"
        if self._reconnect is not None:
            self._reconnect()
        workers = start_workers(self._options, first_index=len(self.scheduler.workers) + 1)
        self.scheduler.replace_workers(workers)
        self._disconnected.clear()
        return f"connected again, with {workers_text(len(workers))}"

    def submit(
        self,
        job_id: int,
        request: Request,
        listener: Callable[[RemoteJob, Event], None] | None = None,
    ) -> bool:
        """Send a job to the cluster; False once the session is closed. A `listener`
        hears the job's events as they come, its pictures not saved (a plot's cell)."""
        return self.scheduler.submit(RemoteJob(job_id, request, listener=listener))

    def cancel(self, job_id: int) -> bool:
        return self.scheduler.cancel(job_id)

    def stop(self, job_id: int) -> bool:
        return self.scheduler.stop(job_id)

    def pause(self, job_id: int) -> bool:
        return self.scheduler.pause(job_id)

    def resume(self, job_id: int) -> bool:
        return self.scheduler.resume(job_id)

    def _deliver(self, job: RemoteJob, event: Event) -> None:
        if job.listener is not None:
            job.listener(job, event)
            return
        if isinstance(event, Finished):
            worker = job.worker.name if job.worker is not None else "?"
            try:
                event = replace(
                    event, outcome=land(event.outcome, job.request, self._store, worker)
                )
            except Exception as exc:  # noqa: BLE001 - an ending must still be delivered
                log.exception("could not save the pictures of cluster job %s", job.job_id)
                event = Failed(job.job_id, *failure_for(exc))
        self._on_event(event)

    def close(self) -> None:
        """Stop the scheduler and the actors this session started."""
        self._closed.set()
        self.scheduler.close()
        for worker in self.scheduler.workers:
            worker.kill()


def workers_text(count: int) -> str:
    """ "1 worker", "2 workers"."""
    return f"{count} worker" if count == 1 else f"{count} workers"
