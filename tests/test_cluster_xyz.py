"""An X/Y/Z plot on a real local Ray cluster (conftest's `cluster`: two CPU actors): its cells
run on both workers, yet it stays one job (one Started, one progress bar over the plot,
a preview per cell, one ending) whose saved result is the local plot's: the grid, then
six cells linked to it, each with its own recipe, pixel for pixel and recipe for recipe
the plot the local runtime (a local lane's code, the oracle) makes and saves. A cancel
stops every cell, saves nothing and leaves no cell behind in the scheduler; a cell's
error ends the plot with that error's sentence, the other cells cancelled."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from engine.api.events import Cancelled, Failed, Finished, Preview, Progress, Queued, Started
from engine.api.kinds import ErrorKind, Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.store import GalleryStore, read_metadata
from engine.store.lineage import PLOT_GRID

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")

from engine.api.outcomes import WORKER_KEY  # noqa: E402
from engine.cluster.plot_fanout import PlotFanout  # noqa: E402
from engine.cluster.pool import WorkerOptions  # noqa: E402
from tests.test_cluster import WAIT_S, WORKER_CPUS, pixels_of  # noqa: E402

SIDE = 32


def plot_request(model: Path, steps: int = 2) -> XyzPlotRequest:
    """2 × 3: X seed 1-2, Y CFG 5, 7, 9."""
    base = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a red lighthouse", "blurry"),
        size=Size(SIDE, SIDE),
        sampling=Sampling(steps=steps, cfg_scale=7.0, seed=0),
    )
    return XyzPlotRequest(base=base, axes=(XyzAxis("seed", "1-2"), XyzAxis("cfg", "5, 7, 9")))


def run_here(request: XyzPlotRequest, folder: Path) -> tuple:
    """The plot as the local runtime makes and saves it: (grid, *cells)."""
    from engine.context import JobContext
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    store = GalleryStore(folder / "out")
    hashes = HashService(HashCache(folder / "h.db"))
    runtime = Runtime(store=lambda: store, device_preference="cpu", hashes=hashes)
    try:
        return runtime.run(request, JobContext(0)).images
    finally:
        runtime.close()
        store.close()


@pytest.fixture(scope="module")
def local_plot(tiny_sd_model, tmp_path_factory):
    return run_here(plot_request(tiny_sd_model), tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def engine(cluster, qapp, tmp_path_factory):
    from engine.cluster.ray_engine import RayEngine

    folder = tmp_path_factory.mktemp("ray")
    options = WorkerOptions(count=2, cpus_per_cpu_worker=WORKER_CPUS, cache_root=str(folder))
    engine = RayEngine(folder / "out", cluster, "cpu", options)
    engine.start()
    assert engine.connected.wait(WAIT_S), engine.connect_error
    yield engine
    assert engine.shutdown()


def run_plot(engine, qtbot, request: XyzPlotRequest, until: str = "finished"):
    seen: list = []
    engine.event.connect(seen.append)
    try:
        handle = engine.submit(request)
        with qtbot.waitSignal(getattr(handle, until), timeout=WAIT_S * 1000) as ended:
            pass
    finally:
        engine.event.disconnect(seen.append)
    return handle, ended, seen


def test_a_2_by_3_plot_on_two_workers_is_the_local_plot(engine, qtbot, local_plot, tiny_sd_model):
    handle, finished, seen = run_plot(engine, qtbot, plot_request(tiny_sd_model))
    images = finished.args[0].images
    assert len(images) == 7 == len(local_plot)
    for ours, theirs in zip(images, local_plot, strict=True):  # grid first, then the cells
        assert ours.path and ours.save_error is None
        np.testing.assert_array_equal(ours.rgb, theirs.rgb)
        np.testing.assert_array_equal(pixels_of(ours.path), pixels_of(theirs.path))
        # The recipe a local plot saves, for the grid and for each cell.
        assert read_metadata(Path(ours.path)).request == read_metadata(Path(theirs.path)).request

    # One job: every event is the plot's, one Started, one ending.
    ids = {e.job_id for e in seen if hasattr(e, "job_id")}
    assert ids == {handle.job_id}
    assert [type(e) for e in seen if isinstance(e, Queued | Started | Finished)] == [
        Queued,
        Started,
        Finished,
    ]
    names = [w.name for w in engine.session.scheduler.workers]
    (started,) = [e for e in seen if isinstance(e, Started)]
    assert all(name in started.worker for name in names)
    # The cells ran on both workers, and the bar says which cell runs where.
    messages = [e.message for e in seen if isinstance(e, Progress)]
    for name in names:
        assert any(m.startswith("Cell ") and m.endswith(f"on {name}") for m in messages)
    steps = [(e.step, e.total) for e in seen if isinstance(e, Progress)]
    assert steps[-1] == (12, 12)  # 6 cells of 2 steps
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)
    assert sum(isinstance(e, Preview) for e in seen) == 6

    # The gallery: the grid and its six cells, each with its own recipe, linked to it.
    store = engine.gallery
    grid, *cells = images
    assert store.count() == 7
    children = {str(c.path) for c in store.lineage(Path(grid.path)).children}
    assert children == {str(Path(cell.path)) for cell in cells}
    for index, cell in enumerate(cells):
        meta = read_metadata(Path(cell.path))
        assert meta.request.sampling.seed == (1, 2)[index % 2]  # x fastest
        assert meta.request.sampling.cfg_scale == (5.0, 7.0, 9.0)[index // 2]
        assert meta.recipe[WORKER_KEY].startswith("Ray cluster: worker ")
        parents = store.lineage(Path(cell.path)).parents
        assert [(str(p.path), p.role) for p in parents] == [(str(Path(grid.path)), PLOT_GRID)]
    assert not engine.active_job_ids()


def test_cancel_mid_plot_stops_every_cell_and_saves_nothing(engine, qtbot, tiny_sd_model):
    before = engine.gallery.count()
    seen: list = []
    engine.event.connect(seen.append)
    try:
        handle = engine.submit(plot_request(tiny_sd_model, steps=400))

        def a_step_made() -> None:
            assert any(isinstance(e, Progress) and e.step for e in seen)

        qtbot.waitUntil(a_step_made, timeout=WAIT_S * 1000)
        assert len(engine.session.scheduler.job_ids()) == 6  # every cell, under the plot
        assert engine.active_job_ids() == [handle.job_id]
        with qtbot.waitSignal(handle.cancelled, timeout=WAIT_S * 1000):
            engine.cancel(handle.job_id)
    finally:
        engine.event.disconnect(seen.append)
    assert not [e for e in seen if isinstance(e, Finished | Failed)]
    assert [e for e in seen if isinstance(e, Cancelled)] == [Cancelled(handle.job_id)]
    assert max(e.step for e in seen if isinstance(e, Progress)) < 6 * 400
    assert engine.gallery.count() == before

    def nothing_left() -> None:
        assert engine.session.scheduler.job_ids() == []
        assert engine.active_job_ids() == []

    qtbot.waitUntil(nothing_left, timeout=10_000)


def test_killing_a_worker_mid_plot_runs_its_cells_again_each_once(
    engine, qtbot, tiny_sd_model, local_plot
):
    """Last of the module's tests on the engine: it leaves one worker."""
    before = engine.gallery.count()
    seen: list = []
    killed: list[str] = []

    def kill_at_the_first_cell(event) -> None:
        """Kill the worker that runs the first cell, as it starts (its other cells
        are in flight there or waiting)."""
        seen.append(event)
        if killed or not isinstance(event, Progress):
            return
        for worker in engine.session.scheduler.workers:
            if event.message.endswith(f"on {worker.name}"):
                killed.append(worker.name)
                ray.kill(worker.actor)
                return

    engine.event.connect(kill_at_the_first_cell)
    try:
        handle = engine.submit(plot_request(tiny_sd_model))
        with qtbot.waitSignal(handle.finished, timeout=WAIT_S * 1000) as finished:
            pass
    finally:
        engine.event.disconnect(kill_at_the_first_cell)
    messages = [e.message for e in seen if isinstance(e, Progress)]
    assert any(m.startswith(f"{killed[0]} stopped; running this again") for m in messages)
    images = finished.args[0].images
    assert len(images) == 7 and engine.gallery.count() == before + 7  # each cell once
    for ours, theirs in zip(images, local_plot, strict=True):
        np.testing.assert_array_equal(pixels_of(ours.path), pixels_of(theirs.path))
    assert sum(isinstance(e, Finished) for e in seen) == 1


def test_generate_with_xyz_on_the_cluster_prints_the_local_plot(
    cluster, tiny_sd_model, local_plot, tmp_path, capsys
):
    from engine.commands import build_parser, command

    argv = ["generate", "--model", str(tiny_sd_model), "--prompt", "a red lighthouse"]
    argv += ["--negative", "blurry", "--steps", "2", "--seed", "0", "--width", str(SIDE)]
    argv += ["--height", str(SIDE), "--xyz", "seed=1-2", "--xyz", "cfg=5, 7, 9"]
    argv += ["--device", "cpu", "--out", str(tmp_path), "--cluster", cluster]
    assert command("generate").run(build_parser().parse_args(argv)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 7  # the grid, then every cell, as a local run prints them
    assert read_metadata(Path(lines[0]["path"])).request == plot_request(tiny_sd_model)
    for line, theirs in zip(lines, local_plot, strict=True):
        np.testing.assert_array_equal(pixels_of(line["path"]), pixels_of(theirs.path))


# ---------------------------------------------------------------- a cell's error


@dataclass
class FakeSession:
    """A session whose cells never leave: the test plays the workers' events."""

    listeners: dict[int, object] = field(default_factory=dict)
    cancelled: list[int] = field(default_factory=list)

    @property
    def scheduler(self):
        return self

    def alive_workers(self) -> list:
        return []

    def submit(self, job_id, request, listener) -> bool:
        self.listeners[job_id] = listener
        return True

    def cancel(self, job_id) -> bool:
        self.cancelled.append(job_id)
        return True


def test_a_cells_error_ends_the_plot_with_its_sentence(tmp_path):
    from engine.cluster.scheduler import RemoteJob

    session, heard = FakeSession(), []
    fanout = PlotFanout(session, heard.append, lambda: None)
    request = plot_request(tmp_path / "model")
    assert fanout.submit(7, request)
    subs = list(session.listeners)
    assert len(subs) == 6 and all(sub < 0 for sub in subs)  # never an engine's id
    assert {fanout.owner_of(sub) for sub in subs} == {7}

    def play(sub: int, event) -> None:
        session.listeners[sub](RemoteJob(sub, request.base), event)

    sentence = "The model file /x/model.safetensors is missing. Choose another model."
    play(subs[0], Failed(subs[0], sentence, ErrorKind.BAD_INPUT))
    assert sorted(session.cancelled) == sorted(subs[1:])  # the other cells are cancelled
    assert not [e for e in heard if isinstance(e, Failed)]  # not before they have ended
    for sub in subs[1:]:
        play(sub, Cancelled(sub))
    assert heard[-1] == Failed(7, sentence, ErrorKind.BAD_INPUT)
    assert fanout.job_ids() == [] and fanout.owner_of(subs[0]) is None
