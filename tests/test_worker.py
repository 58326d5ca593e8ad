"""The engine thread and its client, driven by a scripted runner.

The runner here is a stand-in for the models (which have their own tests); what is under
test is the real worker thread, queue and client: event order, cancel, failure.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine.client import EngineClient
from engine.context import JobContext
from engine.errors import BadInput, BadModelFile
from engine.jobs import (
    Cancelled,
    DeviceInfo,
    Failed,
    Finished,
    Progress,
    Queued,
    Request,
    ResultImage,
    SampleRequest,
    Started,
)
from engine.queue import Job, JobQueue


class ScriptedRunner:
    """Runs `steps` steps per job; a seed in `fail_seeds` raises; `gate` holds step 1."""

    def __init__(self, steps: int = 5, fail_seeds=(), oom_seeds=()):
        self.steps = steps
        self.fail_seeds = set(fail_seeds)
        self.oom_seeds = set(oom_seeds)
        self.gate = threading.Event()
        self.gate.set()
        self.ran: list[int] = []
        self.closed = False

    def device_info(self) -> DeviceInfo:
        return DeviceInfo("cpu", "float32", "CPU · fp32")

    def run(self, request: Request, ctx: JobContext) -> tuple[ResultImage, ...]:
        self.ran.append(request.seed)
        for step in range(1, self.steps + 1):
            if step == 2:
                self.gate.wait(10)
            if request.seed in self.fail_seeds and step == 3:
                raise BadModelFile("The model file is damaged.")
            if request.seed in self.oom_seeds and step == 3:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            ctx.report(step, self.steps, preview=lambda: np.zeros((4, 4, 3), np.uint8))
        rgb = np.full((8, 8, 3), request.seed % 256, np.uint8)
        return (ResultImage(rgb, request.seed, 8, 8),)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def runner():
    return ScriptedRunner(fail_seeds={66}, oom_seeds={99})


@pytest.fixture
def client(qtbot, tmp_path: Path, runner):
    client = EngineClient(tmp_path / "out", make_runner=lambda _client: runner)
    events: list = []
    client.event.connect(events.append)
    client.events = events
    client.start()
    yield client
    runner.gate.set()
    client.shutdown()


def kinds(events, job_id):
    return [type(e).__name__ for e in events if getattr(e, "job_id", None) == job_id]


def wait_for_end(qtbot, client, job_id, timeout=10_000):
    def ended():
        assert any(
            isinstance(e, (Finished, Cancelled, Failed)) and e.job_id == job_id
            for e in client.events
        )

    qtbot.waitUntil(ended, timeout=timeout)


def test_events_arrive_in_order(qtbot, client):
    job = client.submit(SampleRequest(seed=1, count=1))
    wait_for_end(qtbot, client, job)
    names = kinds(client.events, job)
    assert names[0] == "Queued" and names[1] == "Started" and names[-1] == "Finished"
    steps = [e.step for e in client.events if isinstance(e, Progress)]
    assert steps == [1, 2, 3, 4, 5]
    assert any(isinstance(e, DeviceInfo) for e in client.events)
    finished = client.events[-1]
    assert finished.results[0].seed == 1


def test_progress_carries_rate_and_eta(qtbot, client):
    job = client.submit(SampleRequest(seed=1, count=1))
    wait_for_end(qtbot, client, job)
    last = [e for e in client.events if isinstance(e, Progress)][-1]
    assert last.it_per_s is not None and last.it_per_s > 0
    assert last.eta_s == pytest.approx(0.0)


def test_cancel_queued_job_removes_it_and_it_never_runs(qtbot, client, runner):
    runner.gate.clear()
    first = client.submit(SampleRequest(seed=10, count=1))
    second = client.submit(SampleRequest(seed=20, count=1))
    qtbot.waitUntil(lambda: client.running_job_id == first, timeout=5000)
    client.cancel(second)
    runner.gate.set()
    wait_for_end(qtbot, client, first)
    qtbot.wait(50)
    assert kinds(client.events, second) == ["Queued", "Cancelled"]
    assert runner.ran == [10]


def test_cancel_running_job_stops_within_one_step(qtbot, client, runner):
    runner.gate.clear()
    job = client.submit(SampleRequest(seed=1, count=1))
    qtbot.waitUntil(lambda: client.running_job_id == job, timeout=5000)
    client.cancel(job)
    runner.gate.set()
    wait_for_end(qtbot, client, job)
    assert kinds(client.events, job)[-1] == "Cancelled"
    steps = [e.step for e in client.events if isinstance(e, Progress) and e.job_id == job]
    assert max(steps) <= 1  # cancelled at step 2's check: no step after the cancel ran


def test_failing_job_is_followed_by_a_good_one(qtbot, client):
    bad = client.submit(SampleRequest(seed=66, count=1))
    good = client.submit(SampleRequest(seed=7, count=1))
    wait_for_end(qtbot, client, good)
    failed = [e for e in client.events if isinstance(e, Failed)]
    assert [f.job_id for f in failed] == [bad]
    assert failed[0].kind == "bad_model_file" and "damaged" in failed[0].message
    assert kinds(client.events, good)[-1] == "Finished"


def test_out_of_memory_gets_advice(qtbot, client):
    oom = client.submit(SampleRequest(seed=99, count=1))
    good = client.submit(SampleRequest(seed=5, count=1))
    wait_for_end(qtbot, client, good)
    failed = next(e for e in client.events if isinstance(e, Failed))
    assert failed.job_id == oom and failed.kind == "out_of_memory"
    assert "smaller size" in failed.message
    assert kinds(client.events, good)[-1] == "Finished"


def test_invalid_request_is_refused_before_queueing(client):
    with pytest.raises(BadInput, match="Count"):
        client.submit(SampleRequest(count=0))
    assert client.pending_job_ids() == []


def test_a_runner_that_cannot_start_fails_each_job_with_a_sentence(qtbot, tmp_path):
    def broken(_client):
        raise BadModelFile("The engine could not start: no device.")

    client = EngineClient(tmp_path, make_runner=broken)
    events: list = []
    client.event.connect(events.append)
    client.start()
    try:
        job = client.submit(SampleRequest(seed=1, count=1))
        qtbot.waitUntil(lambda: any(isinstance(e, Failed) for e in events), timeout=5000)
        failed = next(e for e in events if isinstance(e, Failed))
        assert failed.job_id == job and "could not start" in failed.message
    finally:
        client.shutdown()


def test_replace_key_replaces_a_pending_job(qtbot, client, runner):
    runner.gate.clear()
    first = client.submit(SampleRequest(seed=1, count=1))
    qtbot.waitUntil(lambda: client.running_job_id == first, timeout=5000)
    a = client.submit(SampleRequest(seed=2, count=1), replace_key="slider")
    b = client.submit(SampleRequest(seed=3, count=1), replace_key="slider")
    runner.gate.set()
    wait_for_end(qtbot, client, b)
    assert kinds(client.events, a) == ["Queued", "Cancelled"]
    assert runner.ran == [1, 3]


def test_queue_take_returns_none_once_closed():
    queue = JobQueue()
    queue.put(Job(1, SampleRequest()))
    queue.close()
    assert queue.take(timeout=0.1) is None


def test_shutdown_closes_the_runner(qtbot, tmp_path, runner):
    client = EngineClient(tmp_path, make_runner=lambda _c: runner)
    client.start()
    events: list = []
    client.event.connect(events.append)
    job = client.submit(SampleRequest(seed=1, count=1))
    qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in events), timeout=5000)
    client.shutdown()
    assert runner.closed
    assert [type(e) for e in events if getattr(e, "job_id", None) == job][0] is Queued
    assert Started in [type(e) for e in events]
