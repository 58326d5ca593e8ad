"""An X/Y/Z plot on a Ray cluster: its cells fanned out over the workers, one job still.

The user sees one job, as a local plot's: one line in the queue, one progress bar over
every cell ("Cell 3 of 6 on worker 2"), one cancel, a preview of each cell as it
arrives, and at the end the same saved result: the grid first, then every cell with its
own recipe, linked to the grid. Each cell is a sub-job of the scheduler (its files sent
with it as any job's; a worker lost mid-cell has the cell run again elsewhere, each
ending exactly once), whose events come here instead of the gallery. The cells and the
grid are made by the local plot runner's own functions (engine.batch.xyz_runner) and
saved through engine.finishing, as a local plot is, so the pixels and the lineage are
the same; each cell's recipe says which worker made it.

Sub-jobs have ids of their own, below zero, so they never meet the engine's. A plot
ends once every cell has ended: Finished when all were made; Cancelled when the user
(or anyone) cancelled a cell or the plot, nothing saved; Failed with the first cell's
error sentence, the other cells cancelled.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from engine.api.events import Cancelled, Event, Failed, Finished, Preview, Progress, Started
from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.api.requests import Request, XyzPlotRequest
from engine.api.requests.xyz import Plot, plot_of
from engine.batch.xyz_runner import as_cell, grid_picture
from engine.cluster.landing import info_here
from engine.cluster.scheduler import RemoteJob
from engine.cluster.session import ClusterSession
from engine.finishing import finish_images
from engine.store import GalleryStore
from engine.worker import failure_for

log = logging.getLogger(__name__)


def fans_out(request: Request) -> bool:
    """Whether the cluster runs `request` as cells spread over its workers."""
    return isinstance(request, XyzPlotRequest)


@dataclass(eq=False)
class _PlotJob:
    job_id: int
    request: XyzPlotRequest
    plot: Plot
    cells: dict[int, int] = field(default_factory=dict)  # sub-job id -> cell index
    steps: list[int] = field(default_factory=list)  # each cell's (as it reports them)
    done: list[int] = field(default_factory=list)  # each cell's steps made
    images: dict[int, ResultImage] = field(default_factory=dict)
    ended: set[int] = field(default_factory=set)  # sub-jobs that have ended
    started: bool = False
    stopping: bool = False  # cancelled, or a cell failed: the rest are cancelled
    failure: Failed | None = None

    def cell_name(self, index: int, worker: str) -> str:
        k = self.plot.run_order.index(index) + 1
        return f"Cell {k} of {len(self.plot.cells)} on {worker}"

    def progress(self, message: str) -> Progress:
        return Progress(self.job_id, sum(self.done), sum(self.steps), message=message)


class PlotFanout:
    """The plots running on a cluster session; `on_event` hears each plot's events
    (under the plot's own job id) from the scheduler's threads."""

    def __init__(
        self,
        session: ClusterSession,
        on_event: Callable[[Event], None],
        store: Callable[[], GalleryStore | None],
    ) -> None:
        self._session = session
        self._on_event = on_event
        self._store = store
        self._ids = itertools.count(-1, -1)
        self._lock = threading.Lock()
        self._plots: dict[int, _PlotJob] = {}
        self._owner: dict[int, _PlotJob] = {}  # sub-job id -> its plot

    # ------------------------------------------------------------ asking

    def submit(self, job_id: int, request: XyzPlotRequest) -> bool:
        """Send every cell of the plot (validated) to the cluster, in the order a local
        plot runs them; False once the session is closed."""
        plot = plot_of(request)
        job = _PlotJob(job_id, request, plot)
        job.steps = [cell.sampling.steps for cell in plot.cells]  # until each says
        job.done = [0] * len(plot.cells)
        with self._lock:
            self._plots[job_id] = job
            for index in plot.run_order:
                sub = next(self._ids)
                job.cells[sub] = index
                self._owner[sub] = job
        for sub, index in job.cells.items():
            if not self._session.submit(sub, plot.cells[index], self._hear):
                self._forget(job)
                return False
        return True

    def cancel(self, job_id: int) -> bool:
        """Cancel every cell of plot `job_id` (False when no such plot runs here)."""
        with self._lock:
            job = self._plots.get(job_id)
            if job is None:
                return False
            job.stopping = True
        self._cancel_cells(job)
        return True

    def owner_of(self, sub_id: int) -> int | None:
        """The plot a sub-job is a cell of (None for any other job)."""
        with self._lock:
            job = self._owner.get(sub_id)
            return None if job is None else job.job_id

    def job_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._plots)

    def take_back(self, waiting: list[RemoteJob]) -> list[RemoteJob]:
        """The jobs a closed scheduler never started, each plot's cells as the plot
        again (to run on this computer, whole), the other jobs as they were."""
        kept, plots = [], {}
        with self._lock:
            for remote in waiting:
                job = self._owner.get(remote.job_id)
                if job is None:
                    kept.append(remote)
                else:
                    plots[job.job_id] = job
        for job in plots.values():
            self._forget(job)
            kept.append(RemoteJob(job.job_id, job.request))
        return kept

    # ------------------------------------------------------------ hearing the cells

    def _hear(self, remote: RemoteJob, event: Event) -> None:
        with self._lock:
            job = self._owner.get(remote.job_id)
            if job is None:
                return
            index = job.cells[remote.job_id]
            worker = remote.worker.name if remote.worker is not None else "?"
            out = self._heard(job, index, worker, event)
            if isinstance(event, Cancelled | Failed | Finished):
                job.ended.add(remote.job_id)
            stop = isinstance(event, Cancelled | Failed) and not job.stopping
            if stop:
                job.stopping = True
                if isinstance(event, Failed):
                    job.failure = replace(event, job_id=job.job_id)
            over = len(job.ended) == len(job.cells)
            for each in out:  # under the lock: the bar never steps back
                self._on_event(each)
        if stop:
            self._cancel_cells(job)
        if over:
            self._forget(job)
            self._on_event(self._ending(job))

    def _heard(self, job: _PlotJob, index: int, worker: str, event: Event) -> list[Event]:
        """What the user hears of one cell's event (under the lock)."""
        if isinstance(event, Started):
            out: list[Event] = []
            if not job.started:
                job.started = True
                names = [w.name for w in self._session.scheduler.alive_workers()]
                out.append(Started(job.job_id, job.request, ", ".join(names) or worker))
            return [*out, job.progress(job.cell_name(index, worker))]
        if isinstance(event, Progress):
            if event.step:
                job.steps[index], job.done[index] = event.total, event.step
            elif event.message:  # its worker went, or it loads: it starts over
                job.done[index] = 0
            return [job.progress(event.message or job.cell_name(index, worker))]
        if isinstance(event, Finished) and not job.stopping:
            image = event.outcome.images[0]
            cell = job.plot.cells[index]
            image = replace(image, info=info_here(image.info, cell, worker), png_text={})
            job.images[index] = as_cell(image, job.plot, index)
            job.done[index] = job.steps[index]
            rgb = image.rgb.copy()
            return [Preview(job.job_id, rgb), job.progress(job.cell_name(index, worker))]
        # A step's preview is not passed on: two cells in flight would flicker in turn.
        return []

    def _cancel_cells(self, job: _PlotJob) -> None:
        """Outside the lock: a waiting cell's Cancelled comes back at once, to _hear."""
        for sub in list(job.cells):
            if sub not in job.ended:
                self._session.cancel(sub)

    def _ending(self, job: _PlotJob) -> Event:
        if job.failure is not None:
            return job.failure
        if job.stopping or len(job.images) != len(job.plot.cells):
            return Cancelled(job.job_id)
        cells = [job.images[i] for i in range(len(job.plot.cells))]
        try:
            grid = grid_picture(cells, job.plot, job.request)
            outcome = finish_images(ImagesOutcome((grid, *cells)), job.request, self._store)
        except Exception as exc:  # noqa: BLE001 - an ending must still be delivered
            log.exception("could not make or save the grid of plot %s", job.job_id)
            return Failed(job.job_id, *failure_for(exc))
        return Finished(job.job_id, outcome)

    def _forget(self, job: _PlotJob) -> None:
        with self._lock:
            self._plots.pop(job.job_id, None)
            for sub in job.cells:
                self._owner.pop(sub, None)
