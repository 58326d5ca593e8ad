"""The cluster's scheduler on its own, with scripted workers instead of Ray actors: fan-out,
at most two jobs in flight per worker, model affinity, and every job ending exactly once
when a worker dies mid-job."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest

from engine.api.events import ENDINGS, Cancelled, Finished, Progress, Started
from engine.api.kinds import Family
from engine.api.outcomes import VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import ScoreRequest
from engine.api.wire import event_to_data
from engine.cluster.model_shipping import Manifest, ManifestFile
from engine.cluster.pool import WorkerLost
from engine.cluster.scheduler import RemoteJob, Scheduler

TIMEOUT_S = 20


@dataclass(eq=False)
class ScriptedWorker:
    """Runs a job as Started, Progress, Finished; `gate` holds each job until set; a
    worker with `dies_after` dies on its n-th job, after a progress event."""

    name: str
    node_id: str = "node"
    models: set[str] = field(default_factory=set)
    alive: bool = True
    gate: threading.Event = field(default_factory=threading.Event)
    dies_after: int | None = None
    dies_with: type[Exception] = WorkerLost  # ConnectionLost: the cluster went, not it
    ran: list[str] = field(default_factory=list)
    flying: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: list[str] = field(default_factory=list)  # keys of the jobs told to stop

    def stream(self, key, request_data, placed):
        with self.lock:
            self.ran.append(key)
            self.flying += 1
            self.peak = max(self.peak, self.flying)
            number = len(self.ran)
        try:
            yield event_to_data(Started(0, ScoreRequest(model=ModelRef(Family.VAE, "vae-digits"))))
            yield event_to_data(Progress(0, 1, 2))
            if self.dies_after is not None and number >= self.dies_after:
                raise self.dies_with(self.name)
            self.gate.wait(TIMEOUT_S)
            yield event_to_data(Finished(0, VectorsOutcome(((float(number),),))))
        finally:
            with self.lock:
                self.flying -= 1

    def cancel(self, key):
        self.gate.set()

    def stop(self, key):
        with self.lock:
            self.stopped.append(key)

    def find_model(self, manifest):
        return "here"

    def kill(self):
        self.alive = False


class Shipper:
    """Every job names the same model (for affinity); placing it costs nothing."""

    def __init__(self, sha: str | None = "m1") -> None:
        self.sha = sha

    def files(self, request):
        if self.sha is None:
            return []
        return [(request.model.id, Manifest("m", self.sha, (ManifestFile("", 1, "x"),)))]

    def place(self, worker, manifest, source, job_key=""):
        return "here"


def request() -> ScoreRequest:
    return ScoreRequest(model=ModelRef(Family.VAE, "vae-digits"))


def run_all(scheduler_workers, count, shipper=None, before_release=None):
    events = []
    done = threading.Event()
    lock = threading.Lock()

    def deliver(job, event):
        with lock:
            events.append(event)
            if sum(isinstance(e, ENDINGS) for e in events) == count:
                done.set()

    scheduler = Scheduler(scheduler_workers, deliver, shipper or Shipper(None))
    for job_id in range(1, count + 1):
        scheduler.submit(RemoteJob(job_id, request()))
    if before_release is not None:
        before_release(scheduler)
    for worker in scheduler_workers:
        worker.gate.set()
    assert done.wait(TIMEOUT_S)
    scheduler.close()
    return events


def test_a_batch_fans_out_with_at_most_two_jobs_in_flight_per_worker():
    workers = [ScriptedWorker("a"), ScriptedWorker("b")]

    def both_busy(scheduler):
        # Held at the gate: four jobs in flight, two on each, the other four waiting.
        for _ in range(200):
            if sum(w.flying for w in workers) == 4:
                break
            threading.Event().wait(0.01)
        assert [w.flying for w in workers] == [2, 2]

    events = run_all(workers, 8, before_release=both_busy)
    endings = Counter(e.job_id for e in events if isinstance(e, ENDINGS))
    assert endings == Counter(range(1, 9))
    assert all(w.peak <= 2 for w in workers)
    assert all(w.ran for w in workers)


def test_a_worker_holding_the_model_is_preferred():
    fresh, holder = ScriptedWorker("fresh"), ScriptedWorker("holder", models={"m1"})
    run_all([fresh, holder], 2, shipper=Shipper("m1"))
    assert len(holder.ran) == 2 and not fresh.ran


def test_a_worker_dying_mid_job_has_its_jobs_run_again_elsewhere_exactly_once():
    doomed = ScriptedWorker("doomed", dies_after=1)
    healthy = ScriptedWorker("healthy")
    events = run_all([doomed, healthy], 8)
    finished = Counter(e.job_id for e in events if isinstance(e, Finished))
    assert finished == Counter(range(1, 9))  # each job once, none lost
    assert not [e for e in events if isinstance(e, Cancelled)]
    assert doomed.ran and not doomed.alive
    retried = [e for e in events if isinstance(e, Progress) and "running this again" in e.message]
    assert {e.job_id for e in retried} <= set(range(1, 9)) and retried


def test_cancel_of_a_waiting_job_ends_it_at_once_and_it_never_runs():
    worker = ScriptedWorker("only")
    events = []
    scheduler = Scheduler([worker], lambda job, event: events.append(event), Shipper(None))
    for job_id in (1, 2, 3):
        scheduler.submit(RemoteJob(job_id, request()))
    assert scheduler.cancel(3)
    assert [e for e in events if isinstance(e, Cancelled)] == [Cancelled(3)]
    worker.gate.set()
    scheduler.close()
    assert not scheduler.cancel(99)


def test_stop_reaches_a_job_in_flight_and_cancels_a_waiting_one():
    worker = ScriptedWorker("only")
    events = []
    scheduler = Scheduler([worker], lambda job, event: events.append(event), Shipper(None))
    jobs = [RemoteJob(job_id, request()) for job_id in (1, 2, 3)]
    for job in jobs:
        scheduler.submit(job)
    for _ in range(TIMEOUT_S * 100):  # until both are in flight (at most TIMEOUT_S)
        if len(worker.ran) == 2:
            break
        threading.Event().wait(0.01)
    assert len(worker.ran) == 2
    assert scheduler.stop(1) and scheduler.stop(3)
    assert worker.stopped == [jobs[0].key]  # its worker ends it at its step
    assert [e for e in events if isinstance(e, Cancelled)] == [Cancelled(3)]
    assert not scheduler.stop(99)
    worker.gate.set()
    scheduler.close()


@pytest.mark.parametrize("sha", [None, "m1"])
def test_no_worker_means_jobs_wait_until_one_is_added(sha):
    events = []
    done = threading.Event()

    def deliver(job, event):
        events.append(event)
        if isinstance(event, ENDINGS):
            done.set()

    scheduler = Scheduler([], deliver, Shipper(sha))
    scheduler.submit(RemoteJob(1, request()))
    assert not done.wait(0.2)
    late = ScriptedWorker("late")
    late.gate.set()
    scheduler.add_workers([late])
    assert done.wait(TIMEOUT_S)
    scheduler.close()
    assert isinstance(events[-1], Finished)
