"""RayEngine: the Engine protocol with the Create tab's jobs run on a Ray cluster.

It is a LocalEngine (the same gallery, catalogue, lanes and handles) whose submit sends
the generate lane's jobs, and the runs of the Train tab's sweep (over a bundled data set
or a folder of images, whose images are sent with them: engine.cluster.data_files), to
the cluster's workers (engine.cluster.session; a run's files land in its run folder
here, as a local run's, before its Finished); interactive work (Lab sliders, previews
of a drawing) and a single training (watched live; the status bar saying so) stay on
this computer. An X/Y/Z plot stays one job for the user while its
cells run in parallel on the workers (engine.cluster.plot_fanout), its grid made and
saved here; every file a job or a cell names is sent with it. Remote events
come in on the scheduler's threads and are re-emitted on the GUI thread, through the
same `_dispatch`, so the queue, previews, cancel, stop, pause and handles cannot tell a
remote job from a local one; Started says which worker runs it. The status bar hears of the
cluster as a DeviceInfo: one short line for the cluster's state ("connecting to…", its
workers, "connection lost — retrying…"), this computer's own device in its tooltip, and
each longer sentence (why a job stays here, a cluster that could not be reached) as its
note, said once beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from engine.api.events import DeviceInfo, Queued
from engine.api.kinds import Lane
from engine.api.requests import Request
from engine.cluster.connect import LOCAL, connect, reconnect, retry_note, try_text
from engine.cluster.plot_fanout import PlotFanout, fans_out
from engine.cluster.pool import WorkerOptions
from engine.cluster.request_files import runs_remotely, stays_here_note
from engine.cluster.session import ClusterSession, workers_text
from engine.handle import JobHandle
from engine.local_engine import LocalEngine, RuntimeFactory, default_runtime
from engine.queue import Job

log = logging.getLogger(__name__)
# A note that a job stays here is said once for jobs submitted together, not once per
# job (and said again for one started later).
NOTE_QUIET_S = 10.0
# A message this short is the cluster's state on the status bar; a longer one is a note.
STATE_CHARS = 60
NO_CLUSTER = "no cluster"  # the state after the cluster could not be joined


class RayEngine(LocalEngine):
    _remote_event = Signal(object)  # from the scheduler's threads, to the GUI thread
    _run_here = Signal(object)  # jobs the cluster will not run, back to the local lanes

    def __init__(
        self,
        output_dir: Path,
        address: str,
        device_preference: str = "auto",
        options: WorkerOptions | None = None,
        make_runtime: RuntimeFactory = default_runtime,
        parent: QObject | None = None,
        precision_preference: str | None = None,  # this computer's lanes (Settings)
        offload_preference: str = "auto",
        compile_preference: bool = False,  # this computer's lanes (Settings)
    ) -> None:
        super().__init__(
            output_dir,
            device_preference,
            make_runtime,
            parent,
            precision_preference,
            offload_preference,
            compile_preference,
        )
        self.address = address
        self._options = options or WorkerOptions()
        self._remote_event.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._run_here.connect(self._fall_back, Qt.ConnectionType.QueuedConnection)
        self.session = ClusterSession(
            lambda: self.gallery, self._remote_event.emit, self._trouble, self._join_again
        )
        self.plots = PlotFanout(self.session, self._remote_event.emit, lambda: self.gallery)
        self.connected = threading.Event()
        self._routing = threading.RLock()  # a job goes to the cluster or here, never lost
        self.connect_error: str | None = None
        self._last_note = ("", float("-inf"))  # the last stays-here note, and when
        self._state = (  # the status bar's line
            "Ray cluster: starting one on this computer…"
            if address == LOCAL
            else f"Ray cluster: connecting to {address}…"
        )
        self._here: DeviceInfo | None = None  # this computer's device, as its lanes said

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        super().start()
        threading.Thread(target=self._join, name="cluster-connect", daemon=True).start()

    def _join(self) -> None:
        """Join the cluster and start its workers, off the GUI thread (seconds)."""
        try:
            connect(self.address, self._trying_again)
            workers = self.session.start_workers(self._options)
        except Exception as exc:  # noqa: BLE001 - said on the status bar; jobs wait
            log.exception("could not use the cluster at %s", self.address)
            self._state = NO_CLUSTER
            self._trouble(f"{getattr(exc, 'message', exc)} Running on this computer instead.")
            with self._routing:  # no job is sent to the cluster from now on
                self.connect_error = getattr(exc, "message", str(exc))
                waiting = self.plots.take_back(self.session.scheduler.close())
            self._run_here.emit(waiting)
            return
        names = ", ".join(w.name for w in workers)
        device = workers[0].description if workers else "no worker"
        self._state = f"Ray cluster · {workers_text(len(workers))} ({device}): {names}"
        self._remote_event.emit(self._status_line())
        self.connected.set()

    def _trying_again(self, attempt: int) -> None:
        """The head's Ray Client server for us died at birth: say that we try again."""
        self._state = f"Ray cluster: connecting to {self.address}… ({try_text(attempt)})"
        self._remote_event.emit(self._status_line(retry_note(attempt)))

    def _join_again(self) -> None:
        """After the connection went (on the session's recovering thread)."""
        reconnect(self.address)

    def _trouble(self, message: str) -> None:
        """A message for the status bar, e.g. "Cluster connection lost — retrying…",
        then "Ray cluster: connected again, with 2 workers". Its first sentence, if
        short, is the cluster's state from now on; the whole is said beside the state."""
        text = message if message.startswith("Cluster") else f"Ray cluster: {message}"
        first = text.split(". ")[0]
        if len(first) <= STATE_CHARS and self._state != NO_CLUSTER:
            self._state = first
        self._remote_event.emit(self._status_line(text))

    def _status_line(self, note: str = "") -> DeviceInfo:
        """The cluster's state, this computer's device in the tooltip (what stays here
        runs there; jobs run there too when no cluster could be joined)."""
        here = self._here
        if here is None:
            return DeviceInfo("cluster", "", self._state, "", note)
        if self._state == NO_CLUSTER:
            line = f"{here.description} · {NO_CLUSTER}"
            return DeviceInfo("cluster", here.dtype, line, here.detail, note)
        detail = f"This computer (Lab sliders, single trainings): {here.description}"
        detail += f"\n{here.detail}" if here.detail else ""
        return DeviceInfo("cluster", here.dtype, self._state, detail, note)

    def _dispatch(self, event: object) -> None:
        """This computer's device (its lanes announce it, and again on a change in
        Settings) goes into the status line: it must not hide the cluster's state."""
        if isinstance(event, DeviceInfo) and event.device != "cluster":
            self._here = event
            event = self._status_line()
        super()._dispatch(event)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        self.session.close()
        return super().shutdown(timeout_ms)

    # ------------------------------------------------------------ jobs

    def _fall_back(self, jobs: list) -> None:
        """Jobs sent to a cluster that could not be joined run on the local lanes."""
        for remote in jobs:
            job = Job(remote.job_id, remote.request)
            with self._jobs_lock:
                self._jobs[job.job_id] = job
            self._queues[remote.request.lane].put(job)

    def submit(self, request: Request, replace_key: str | None = None) -> JobHandle:
        with self._routing:
            plot = fans_out(request)
            if not (plot or runs_remotely(request)) or self.connect_error is not None:
                self._say_once(stays_here_note(request))
                return super().submit(request, replace_key)
            request.validate()
            job_id = next(self._ids)
            handle = self._handles[job_id] = JobHandle(self, job_id)
            self._dispatch(Queued(job_id, request, request.lane))
            if plot:
                self.plots.submit(job_id, request)
            else:
                self.session.submit(job_id, request)
            return handle

    def _say_once(self, note: str) -> None:
        """Say why a job stays here, unless that was just said (a sweep's other runs)."""
        now = time.monotonic()
        said, when = self._last_note
        if note and (note != said or now - when > NOTE_QUIET_S):
            self._last_note = (note, now)
            self._trouble(note)

    def cancel(self, job_id: int) -> None:
        if not self.plots.cancel(job_id) and not self.session.cancel(job_id):
            super().cancel(job_id)

    def stop(self, job_id: int) -> None:
        """A sweep's run on a worker ends at its step; its checkpoint lands here."""
        if not self.session.stop(job_id):
            super().stop(job_id)

    def pause(self, job_id: int) -> None:
        """A job on a worker pauses at its step (Paused comes back); a waiting one starts
        paused, as a local lane's queued job does."""
        if not self.session.pause(job_id):
            super().pause(job_id)

    def resume(self, job_id: int) -> None:
        if not self.session.resume(job_id):
            super().resume(job_id)

    def cancel_running(
        self, lanes: tuple[Lane, ...] = (Lane.GENERATE, Lane.INTERACTIVE)
    ) -> list[int]:
        cancelled = super().cancel_running(lanes)
        scheduler = self.session.scheduler
        for job_id in scheduler.job_ids():  # Esc leaves a sweep's trainings running
            if scheduler.running_on(job_id) is None or scheduler.lane_of(job_id) not in lanes:
                continue
            plot = self.plots.owner_of(job_id)  # a cell running: its whole plot
            target = job_id if plot is None else plot
            if target not in cancelled:
                self.cancel(target)
                cancelled.append(target)
        return cancelled

    def active_job_ids(self) -> list[int]:
        remote = {i for i in self.session.scheduler.job_ids() if self.plots.owner_of(i) is None}
        return sorted(set(super().active_job_ids()) | remote | set(self.plots.job_ids()))
