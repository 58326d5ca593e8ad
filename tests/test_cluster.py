"""The engine on a real Ray cluster of this computer (two CPUs, no dashboard, loopback and
this machine's own address only): cluster pictures equal local ones pixel for pixel,
a worker killed mid-batch loses nothing and doubles nothing, cancel reaches a remote
job, a model a worker lacks is sent once and then found, and a second driver process
gets the same pictures. The oracle is the local runtime, the code a local lane runs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.events import ENDINGS, Cancelled, Event, Finished, Progress, Started
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.store import GalleryStore
from engine.store.metadata import RECIPE_KEY

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")

from engine.api.outcomes import WORKER_KEY  # noqa: E402
from engine.cluster.pool import WorkerOptions  # noqa: E402
from engine.cluster.session import ClusterSession  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 300
WORKER_CPUS = 0.5  # four actors fit the two CPUs: this module's, and a second driver's


def request(model: Path, seed: int, steps: int = 3) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a lighthouse at dusk", "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=steps, seed=seed),
    )


class Collector:
    """The events a session delivers, and a wait for a number of endings."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_until(self, predicate) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.events), WAIT_S)

    def wait_endings(self, count: int) -> None:
        self.wait_until(lambda events: sum(isinstance(e, ENDINGS) for e in events) >= count)

    def of(self, cls) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, cls)]


def open_session(folder: Path, count: int, **options) -> tuple[ClusterSession, Collector]:
    store = GalleryStore(folder / "out")
    collector = Collector()
    session = ClusterSession(lambda: store, collector)
    options.setdefault("cache_root", str(folder / "cache"))
    session.start_workers(WorkerOptions(count=count, cpus_per_cpu_worker=WORKER_CPUS, **options))
    session.store = store  # for the tests' eyes
    return session, collector


@pytest.fixture(scope="module")
def shared(cluster, tmp_path_factory):
    session, collector = open_session(tmp_path_factory.mktemp("cluster"), 2)
    yield session
    session.close()
    session.store.close()


@pytest.fixture(scope="module")
def local_pixels(tiny_sd_model, tmp_path_factory):
    """Each seed's picture as the local runtime (a local lane's) makes it."""
    from engine.context import JobContext
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    hashes = HashService(HashCache(tmp_path_factory.mktemp("h") / "h.db"))
    runtime = Runtime(device_preference="cpu", hashes=hashes)
    try:
        return {
            seed: runtime.run(request(tiny_sd_model, seed), JobContext(0)).images[0].rgb
            for seed in range(8)
        }
    finally:
        runtime.close()


def run_batch(session: ClusterSession, model: Path, first_id: int = 1) -> Collector:
    collector = Collector()
    session._on_event = collector  # this batch's events only
    for seed in range(8):
        session.submit(first_id + seed, request(model, seed))
    return collector


def pixels_of(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def check_exactly_once_and_equal(collector: Collector, local, ids: range) -> list[Finished]:
    finished = collector.of(Finished)
    assert sorted(e.job_id for e in finished) == list(ids)
    assert not collector.of(Cancelled)
    for event in finished:
        (image,) = event.outcome.images
        assert image.path and image.save_error is None
        np.testing.assert_array_equal(image.rgb, local[image.seed])
        np.testing.assert_array_equal(pixels_of(image.path), local[image.seed])
    return finished


def test_a_batch_of_8_over_two_workers_equals_the_local_batch(shared, tiny_sd_model, local_pixels):
    collector = run_batch(shared, tiny_sd_model)
    collector.wait_endings(8)
    finished = check_exactly_once_and_equal(collector, local_pixels, range(1, 9))
    workers = {e.worker for e in collector.of(Started)}
    assert workers == {w.name for w in shared.scheduler.workers}  # fanned out over both
    for event in finished:
        with Image.open(event.outcome.images[0].path) as image:
            recipe = json.loads(image.text[RECIPE_KEY])
        assert recipe[WORKER_KEY].startswith("Ray cluster: worker ")
        assert recipe["model_path"] == str(tiny_sd_model.resolve())  # the user's path
    assert shared.store.count() == 8


def test_a_model_is_sent_once_then_found_in_the_nodes_cache(cluster, tiny_sd_model, tmp_path):
    session, collector = open_session(tmp_path, 1)
    try:
        for job_id in (1, 2):
            session.submit(job_id, request(tiny_sd_model, job_id))
            collector.wait_endings(job_id)
        assert len(collector.of(Finished)) == 2
        assert len(session.shipper.sent) == 1  # sent for the first job only
        (worker,) = session.scheduler.workers
        assert len(ray.get(worker.actor.received_models.remote())) == 1
    finally:
        session.close()
        session.store.close()
    # Another worker on this node, later: the node's cache folder has it.
    session, collector = open_session(tmp_path, 1)
    try:
        session.submit(3, request(tiny_sd_model, 3))
        collector.wait_endings(1)
        assert collector.of(Finished) and session.shipper.sent == []
    finally:
        session.close()
        session.store.close()


def test_a_worker_finds_a_model_in_its_own_model_folders(cluster, tiny_sd_model, tmp_path):
    session, collector = open_session(tmp_path, 1, model_dirs=(str(tiny_sd_model.parent),))
    try:
        session.submit(1, request(tiny_sd_model, 0))
        collector.wait_endings(1)
        assert collector.of(Finished) and session.shipper.sent == []
    finally:
        session.close()
        session.store.close()


def test_cancel_stops_a_remote_job(shared, tiny_sd_model):
    collector = Collector()
    shared._on_event = collector
    steps = 500
    saved_before = shared.store.count()  # the module's other tests share this store
    shared.submit(100, request(tiny_sd_model, 0, steps=steps))
    key = shared.scheduler._jobs[100].key
    collector.wait_until(lambda events: any(isinstance(e, Progress) and e.step for e in events))
    worker = shared.scheduler.running_on(100)
    assert shared.cancel(100)
    collector.wait_endings(1)
    assert collector.of(Cancelled) == [Cancelled(100)]
    assert max(e.step for e in collector.of(Progress)) < steps
    # On the worker: the step under way when cancel arrived was the last one to finish.
    at_cancel, last = ray.get(worker.actor.cancel_record.remote(key))
    assert 0 < at_cancel <= last <= at_cancel + 1
    assert shared.store.count() == saved_before  # nothing saved


def test_killing_a_worker_mid_batch_loses_and_doubles_nothing(
    cluster, tiny_sd_model, local_pixels, tmp_path
):
    session, _ = open_session(tmp_path, 2)
    try:
        collector = run_batch(session, tiny_sd_model)
        collector.wait_until(lambda events: any(isinstance(e, Started) for e in events))
        victim = next(
            w for w in session.scheduler.workers if w.name == collector.of(Started)[0].worker
        )
        ray.kill(victim.actor)
        collector.wait_endings(8)
        check_exactly_once_and_equal(collector, local_pixels, range(1, 9))
        assert session.store.count() == 8
        assert not victim.alive
    finally:
        session.close()
        session.store.close()


SECOND_DRIVER = textwrap.dedent(
    """
    import hashlib, json, sys, threading
    from pathlib import Path
    from engine.api.events import ENDINGS, Finished
    from engine.cluster.connect import connect
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.session import ClusterSession
    from engine.store import GalleryStore
    from tests.test_cluster import request

    address, model, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    connect(address)
    store = GalleryStore(out)
    events, done = [], threading.Event()
    def on_event(event):
        events.append(event)
        if sum(isinstance(e, ENDINGS) for e in events) == 2:
            done.set()
    session = ClusterSession(lambda: store, on_event)
    session.start_workers(WorkerOptions(count=1, cpus_per_cpu_worker=0.5, cache_root=sys.argv[4]))
    for seed in (2, 5):
        session.submit(seed, request(model, seed))
    done.wait(300)
    digests = {e.job_id: hashlib.sha256(e.outcome.images[0].rgb.tobytes()).hexdigest()
               for e in events if isinstance(e, Finished)}
    session.close()
    print(json.dumps(digests))
    """
)


def test_a_second_driver_process_gets_the_same_pictures(
    cluster, tiny_sd_model, local_pixels, tmp_path
):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SECOND_DRIVER, cluster, str(tiny_sd_model)]
        + [str(tmp_path / "out"), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=WAIT_S,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    digests = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {str(s): hashlib.sha256(local_pixels[s].tobytes()).hexdigest() for s in (2, 5)}
    assert digests == expected


def test_generate_on_the_command_line_with_cluster_splits_the_batch(
    cluster, tiny_sd_model, local_pixels, tmp_path, capsys
):
    from engine.commands import build_parser, command

    argv = ["generate", "--model", str(tiny_sd_model), "--prompt", "a lighthouse at dusk"]
    argv += ["--negative", "blurry", "--steps", "3", "--width", "64", "--height", "64"]
    argv += ["--seed", "0", "--batch", "4", "--device", "cpu", "--out", str(tmp_path)]
    args = build_parser().parse_args([*argv, "--cluster", cluster])
    assert command("generate").run(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["seed"] for line in lines) == [0, 1, 2, 3]
    for line in lines:
        np.testing.assert_array_equal(pixels_of(line["path"]), local_pixels[line["seed"]])


def test_the_ray_engine_runs_create_jobs_remotely_with_the_same_signals(
    cluster, tiny_sd_model, local_pixels, tmp_path, qtbot
):
    from engine.api.events import DeviceInfo
    from engine.cluster.ray_engine import RayEngine

    options = WorkerOptions(count=1, cpus_per_cpu_worker=WORKER_CPUS, cache_root=str(tmp_path))
    engine = RayEngine(tmp_path / "out", cluster, "cpu", options)
    seen: list = []
    engine.event.connect(seen.append)
    engine.start()
    try:
        handle = engine.submit(request(tiny_sd_model, 4))
        with qtbot.waitSignal(handle.finished, timeout=WAIT_S * 1000) as finished:
            pass
        (image,) = finished.args[0].images
        np.testing.assert_array_equal(pixels_of(image.path), local_pixels[4])
        (started,) = [e for e in seen if isinstance(e, Started)]
        assert started.worker.startswith("worker 1")
        assert any(isinstance(e, DeviceInfo) and "Ray cluster" in e.description for e in seen)
    finally:
        assert engine.shutdown()


def test_a_cluster_refused_for_want_of_authentication_leaves_jobs_on_this_computer(
    cluster, tiny_sd_model, local_pixels, tmp_path, qtbot, monkeypatch
):
    from engine.api.events import DeviceInfo
    from engine.cluster.ray_engine import RayEngine

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    engine = RayEngine(tmp_path / "out", "ray://192.0.2.77:10001", "cpu")
    seen: list = []
    engine.event.connect(seen.append)
    engine.start()
    try:
        handle = engine.submit(request(tiny_sd_model, 6))
        with qtbot.waitSignal(handle.finished, timeout=WAIT_S * 1000) as finished:
            pass
        np.testing.assert_array_equal(finished.args[0].images[0].rgb, local_pixels[6])
        assert [e.worker for e in seen if isinstance(e, Started)] == [""]
        lines = [e for e in seen if isinstance(e, DeviceInfo)]
        assert any("token authentication" in e.note for e in lines)
        # The status line: this computer's device, and that there is no cluster
        qtbot.waitUntil(lambda: engine._status_line().description == "CPU · fp32 · no cluster")
    finally:
        assert engine.shutdown()


def test_losing_every_worker_tells_the_user_keeps_what_arrived_and_resumes(
    cluster, tiny_sd_model, local_pixels, tmp_path
):
    store = GalleryStore(tmp_path / "out")
    collector, troubles = Collector(), []
    session = ClusterSession(lambda: store, collector, troubles.append)
    options = WorkerOptions(count=2, cpus_per_cpu_worker=WORKER_CPUS, cache_root=str(tmp_path))
    first = session.start_workers(options)
    try:
        for seed in range(8):
            session.submit(1 + seed, request(tiny_sd_model, seed))
        collector.wait_until(lambda events: any(isinstance(e, Finished) for e in events))
        for worker in first:
            ray.kill(worker.actor)
        collector.wait_endings(8)
        check_exactly_once_and_equal(collector, local_pixels, range(1, 9))
        assert store.count() == 8
        assert any("Every worker of the cluster is gone" in t for t in troubles)
        assert any(t.startswith("back, with 2 workers") for t in troubles)
        assert len(session.scheduler.alive_workers()) == 2  # new ones, started again
        assert not any(w.alive for w in first)
    finally:
        session.close()
        store.close()
