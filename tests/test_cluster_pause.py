"""Pause and resume of a job on the cluster, through the scheduler's seams without Ray: a
real ClusterWorker (plain Python) holds the job, its runner a stepping loop that calls
JobContext.step_boundary as a training loop does. Pausing a running job reaches that
worker's JobControl and Paused/Resumed come back; a job paused while it waits starts
paused, as a local lane's queued job does (its control paused before it runs); the
latest of a job's pauses and resumes wins however the calls arrive."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from engine.api.events import ENDINGS, Event, Finished, Paused, Progress, Resumed, Started
from engine.api.kinds import Family
from engine.api.outcomes import VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import ScoreRequest
from engine.cluster.scheduler import RemoteJob, Scheduler
from engine.cluster.worker_actor import ClusterWorker
from engine.context import JobContext

TIMEOUT_S = 20


class SteppingRuntime:
    """Steps until stopped, as engine.train.loop does: step_boundary, then report."""

    def __init__(self) -> None:
        self.steps: dict[int, int] = {}  # a run's number -> its last step
        self._runs = 0
        self._lock = threading.Lock()

    def run(self, request: object, context: JobContext) -> VectorsOutcome:
        with self._lock:
            self._runs += 1
            run = self._runs
        step = self.steps[run] = 0
        while not context.step_boundary():
            step = self.steps[run] = step + 1
            context.report(step, 10**9)
            threading.Event().wait(0.002)  # a step's work
        return VectorsOutcome(((float(step),),))


@dataclass(eq=False)
class InProcessWorker:
    """The scheduler's view of a worker (pool.RemoteWorker's seams), the actor in-process."""

    actor: ClusterWorker
    name: str = "in-process"
    node_id: str = "node"
    models: set[str] = field(default_factory=set)
    alive: bool = True

    def stream(self, key, request_data, placed):
        yield from self.actor.run(key, request_data, placed)

    def cancel(self, key):
        self.actor.cancel(key)

    def stop(self, key):
        self.actor.stop(key)

    def pause(self, key, order):
        self.actor.pause(key, order)

    def resume(self, key, order):
        self.actor.resume(key, order)

    def kill(self):
        self.alive = False


class Events:
    def __init__(self) -> None:
        self.items: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, job: RemoteJob, event: Event) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def of(self, job_id: int) -> list[Event]:
        with self._cond:
            return [e for e in self.items if e.job_id == job_id]

    def wait(self, predicate) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self), TIMEOUT_S)

    def wait_for(self, job_id: int, cls: type, count: int = 1) -> None:
        self.wait(lambda ev: sum(isinstance(e, cls) for e in ev.of(job_id)) >= count)


def make(tmp_path, per_worker: int = 2):
    actor = ClusterWorker("worker 1", "cpu", str(tmp_path / "cache"))
    runtime = actor._runtime = SteppingRuntime()  # no torch: the runner is the loop above
    events = Events()
    scheduler = Scheduler([InProcessWorker(actor)], events, per_worker=per_worker)
    return scheduler, runtime, events


def request() -> ScoreRequest:
    return ScoreRequest(model=ModelRef(Family.VAE, "vae-digits"))


def steps_after(events: list[Event], cls: type) -> list[int]:
    """The Progress steps that came after the last `cls` event."""
    last = max(i for i, e in enumerate(events) if isinstance(e, cls))
    return [e.step for e in events[last + 1 :] if isinstance(e, Progress)]


def test_pausing_a_running_job_reaches_its_workers_control_and_paused_comes_back(tmp_path):
    scheduler, runtime, events = make(tmp_path)
    scheduler.submit(RemoteJob(1, request()))
    events.wait(lambda ev: any(isinstance(e, Progress) and e.step > 2 for e in ev.of(1)))
    assert scheduler.pause(1)
    events.wait_for(1, Paused)
    paused_at = runtime.steps[1]
    for _ in range(20):  # the loop waits: its step stays where it paused
        threading.Event().wait(0.01)
        assert runtime.steps[1] == paused_at
    assert steps_after(events.of(1), Paused) == []  # no Progress while paused
    assert scheduler.resume(1)
    events.wait_for(1, Resumed)
    events.wait(lambda ev: any(isinstance(e, Progress) and e.step > paused_at for e in ev.of(1)))
    assert scheduler.stop(1)
    events.wait_for(1, Finished)
    kinds = [type(e) for e in events.of(1) if not isinstance(e, Progress)]
    assert kinds == [Started, Paused, Resumed, Finished]
    (finished,) = [e for e in events.of(1) if isinstance(e, Finished)]
    assert finished.outcome.vectors[0][0] > paused_at  # it went on after resuming
    assert not scheduler.pause(99) and not scheduler.resume(99)
    scheduler.close()


def test_a_job_paused_while_it_waits_starts_paused_as_a_local_queued_job_does(tmp_path):
    """One job at a time on the worker: 2 and 3 wait in the scheduler. 2 is paused there
    (nothing said yet, as locally); 3 is paused and resumed there, and never pauses."""
    scheduler, runtime, events = make(tmp_path, per_worker=1)
    for job_id in (1, 2, 3):
        scheduler.submit(RemoteJob(job_id, request()))
    events.wait_for(1, Progress)
    assert scheduler.pause(2) and scheduler.pause(3) and scheduler.resume(3)
    assert not [e for e in events.items if isinstance(e, Paused | Resumed)]
    assert scheduler.stop(1)
    events.wait_for(2, Paused)  # at its first step boundary, before any step
    assert [type(e) for e in events.of(2)] == [Started, Paused]
    assert runtime.steps[2] == 0
    assert scheduler.resume(2)
    events.wait_for(2, Progress)
    assert scheduler.stop(2)
    events.wait(lambda ev: any(isinstance(e, Progress) for e in ev.of(3)))
    assert scheduler.stop(3)
    events.wait(lambda ev: sum(isinstance(e, ENDINGS) for e in ev.items) == 3)
    assert [type(e) for e in events.of(2) if not isinstance(e, Progress)] == [
        Started,
        Paused,
        Resumed,
        Finished,
    ]
    assert not [e for e in events.of(3) if isinstance(e, Paused | Resumed)]
    scheduler.close()


def test_the_latest_pause_or_resume_wins_however_they_arrive(tmp_path):
    """Ray may run a threaded actor's calls out of order: an older ask is ignored."""
    worker = ClusterWorker("worker 1", "cpu", str(tmp_path / "cache"))
    worker.resume("job", 2)
    worker.pause("job", 1)  # sent first, arrived last
    assert not worker._control("job").paused
    worker.pause("job", 3)
    assert worker._control("job").paused
