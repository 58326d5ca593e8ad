"""The engine's lanes, threads and client, driven by a scripted runtime.

The runtime here is a stand-in for the models (which have their own tests); what is under
test is the real lane threads, queues and client: event order, lanes that do not block
each other, cancel, pause/resume/stop, failures, device changes and shutdown.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.api.errors import BadInput, BadModelFile
from engine.api.events import (
    Cancelled,
    DeviceInfo,
    Failed,
    Finished,
    Progress,
    Queued,
    Started,
)
from engine.api.kinds import ErrorKind, Family, Lane
from engine.api.outcomes import ImagesOutcome, ModelOutcome, ResultImage
from engine.api.parts import DatasetRef, ModelRef, Training
from engine.api.requests import Request, SampleRequest, TrainRequest
from engine.context import JobContext
from engine.local_engine import LocalEngine
from engine.queue import Job, JobQueue

ROOT = Path(__file__).resolve().parent.parent
MODEL = ModelRef(Family.VAE, "vae-digits")  # exists; the scripted runtime never opens it


def sample(seed: int) -> SampleRequest:
    return SampleRequest(model=MODEL, seed=seed, count=1)


def training(steps: int = 1000, seed: int = 0) -> TrainRequest:
    return TrainRequest(
        family=Family.VAE,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, seed=seed),
        output="/nowhere/model.safetensors",
    )


class ScriptedRuntime:
    """Runs `steps` steps per job; a seed in `fail_seeds` raises; `gate` holds step 2.

    Training requests run until stopped (each step sleeps `train_step_s`), honouring
    pause/resume/stop at step boundaries like the real training loop.
    """

    def __init__(self, steps: int = 5, fail_seeds=(), oom_seeds=()):
        self.steps = steps
        self.fail_seeds = set(fail_seeds)
        self.oom_seeds = set(oom_seeds)
        self.gate = threading.Event()
        self.gate.set()
        self.ran: list[int] = []
        self.closed = False
        self.device = "cpu"
        self.train_step_s = 0.002

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(self.device, "float32", f"{self.device.upper()} · fp32")

    def set_device_preference(self, preference: str) -> DeviceInfo:
        self.device = preference
        return self.device_info()

    def set_precision_preference(self, precision: str) -> DeviceInfo:
        return self.device_info()

    def set_offload_preference(self, offload: str) -> DeviceInfo:
        return self.device_info()

    def set_compile_preference(self, compile_unet: bool) -> DeviceInfo:
        return self.device_info()

    def run(self, request: Request, ctx: JobContext):
        if isinstance(request, TrainRequest):
            return self._train(request, ctx)
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
        return ImagesOutcome((ResultImage(rgb, request.seed),))

    def _train(self, request: TrainRequest, ctx: JobContext) -> ModelOutcome:
        step = 0
        while step < request.training.steps:
            if ctx.step_boundary():
                return ModelOutcome(request.output, step, stopped_early=True)
            time.sleep(self.train_step_s)
            step += 1
            ctx.report(step, request.training.steps, throttle=True)
        return ModelOutcome(request.output, step)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def runtime():
    return ScriptedRuntime(fail_seeds={66}, oom_seeds={99})


@pytest.fixture
def client(qtbot, tmp_path: Path, runtime):
    client = LocalEngine(tmp_path / "out", make_runtime=lambda _client: runtime)
    events: list = []
    client.event.connect(events.append)
    client.events = events
    client.start()
    yield client
    runtime.gate.set()
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


# ---------------------------------------------------------------- events


def test_a_jobs_signals_arrive_in_strict_order(qtbot, client):
    handle = client.submit(sample(1))
    with qtbot.waitSignals(
        [handle.started, *[handle.progress] * 5, handle.finished],
        order="strict",
        timeout=10_000,
    ):
        pass
    finished = next(e for e in client.events if isinstance(e, Finished))
    assert finished.outcome.images[0].seed == 1
    names = kinds(client.events, handle.job_id)
    assert names[0] == "Queued" and names[1] == "Started" and names[-1] == "Finished"
    steps = [e.step for e in client.events if isinstance(e, Progress)]
    assert steps == [1, 2, 3, 4, 5]


def test_a_handle_hears_of_its_job_before_the_global_signal(qtbot, client):
    heard: list[str] = []
    client.event.connect(lambda e: heard.append(f"event {type(e).__name__}"))
    handle = client.submit(sample(2))
    handle.finished.connect(lambda _outcome: heard.append("handle Finished"))
    with qtbot.waitSignal(handle.finished, timeout=10_000):
        pass
    assert heard.index("handle Finished") < heard.index("event Finished")
    assert "event Queued" in heard  # queued inside submit, before the handle came back


def test_the_device_is_announced_at_start_without_any_job(qtbot, client):
    qtbot.waitUntil(lambda: any(isinstance(e, DeviceInfo) for e in client.events))


def test_progress_carries_rate_and_eta(qtbot, client):
    job = client.submit(sample(1)).job_id
    wait_for_end(qtbot, client, job)
    last = [e for e in client.events if isinstance(e, Progress)][-1]
    assert last.it_per_s is not None and last.it_per_s > 0
    assert last.eta_s == pytest.approx(0.0)


# ---------------------------------------------------------------- cancel


def test_cancel_queued_job_removes_it_and_it_never_runs(qtbot, client, runtime):
    runtime.gate.clear()
    first = client.submit(sample(10)).job_id
    second = client.submit(sample(20)).job_id
    qtbot.waitUntil(lambda: client.running_job_id(Lane.INTERACTIVE) == first, timeout=5000)
    client.cancel(second)
    runtime.gate.set()
    wait_for_end(qtbot, client, first)
    qtbot.wait(50)
    assert kinds(client.events, second) == ["Queued", "Cancelled"]
    assert runtime.ran == [10]


def test_cancel_running_job_stops_within_one_step(qtbot, client, runtime):
    runtime.gate.clear()
    job = client.submit(sample(1)).job_id
    qtbot.waitUntil(lambda: client.running_job_id(Lane.INTERACTIVE) == job, timeout=5000)
    client.cancel(job)
    runtime.gate.set()
    wait_for_end(qtbot, client, job)
    assert kinds(client.events, job)[-1] == "Cancelled"
    steps = [e.step for e in client.events if isinstance(e, Progress) and e.job_id == job]
    assert max(steps) <= 1  # cancelled at step 2's check: no step after the cancel ran


def test_a_cancel_between_the_queue_and_the_thread_is_not_lost(
    qtbot, tmp_path, runtime, monkeypatch
):
    """The job has left its queue but its thread has not marked it running yet."""
    taken, proceed = threading.Event(), threading.Event()
    real_take = JobQueue.take

    def slow_take(self, timeout=None):
        item = real_take(self, timeout)
        if isinstance(item, Job):
            taken.set()
            proceed.wait(10)
        return item

    monkeypatch.setattr(JobQueue, "take", slow_take)
    client = LocalEngine(tmp_path, make_runtime=lambda _c: runtime)
    events: list = []
    client.event.connect(events.append)
    client.start()
    try:
        job = client.submit(sample(5)).job_id
        assert taken.wait(10)
        client.cancel(job)
        proceed.set()
        qtbot.waitUntil(
            lambda: any(
                getattr(e, "job_id", 0) == job and isinstance(e, (Cancelled, Finished))
                for e in events
            ),
            timeout=10_000,
        )
        assert kinds(events, job)[-1] == "Cancelled"
        assert runtime.ran == []
    finally:
        proceed.set()
        client.shutdown()


def test_replace_key_replaces_a_pending_job(qtbot, client, runtime):
    runtime.gate.clear()
    first = client.submit(sample(1)).job_id
    qtbot.waitUntil(lambda: client.running_job_id(Lane.INTERACTIVE) == first, timeout=5000)
    a = client.submit(sample(2), replace_key="slider").job_id
    b = client.submit(sample(3), replace_key="slider").job_id
    runtime.gate.set()
    wait_for_end(qtbot, client, b)
    assert kinds(client.events, a) == ["Queued", "Cancelled"]
    assert runtime.ran == [1, 3]


# ---------------------------------------------------------------- failures


def test_failing_job_is_followed_by_a_good_one(qtbot, client):
    bad = client.submit(sample(66)).job_id
    good = client.submit(sample(7)).job_id
    wait_for_end(qtbot, client, good)
    failed = [e for e in client.events if isinstance(e, Failed)]
    assert [f.job_id for f in failed] == [bad]
    assert failed[0].kind is ErrorKind.BAD_MODEL_FILE and "damaged" in failed[0].message
    assert kinds(client.events, good)[-1] == "Finished"


def test_out_of_memory_gets_one_sentence_of_advice(qtbot, client):
    oom = client.submit(sample(99)).job_id
    good = client.submit(sample(5)).job_id
    wait_for_end(qtbot, client, good)
    failed = next(e for e in client.events if isinstance(e, Failed))
    assert failed.job_id == oom and failed.kind is ErrorKind.OUT_OF_MEMORY
    assert "ran out of memory" in failed.message and "smaller width/height" in failed.message
    assert kinds(client.events, good)[-1] == "Finished"


def test_invalid_request_is_refused_before_queueing(client):
    with pytest.raises(BadInput, match="Count"):
        client.submit(SampleRequest(model=MODEL, count=0))
    assert client.pending_job_ids() == []


def test_a_runtime_that_cannot_start_fails_each_job_with_a_sentence(qtbot, tmp_path):
    def broken(_client):
        raise BadModelFile("The engine could not start: no device.")

    client = LocalEngine(tmp_path, make_runtime=broken)
    events: list = []
    client.event.connect(events.append)
    client.start()
    try:
        job = client.submit(sample(1)).job_id
        qtbot.waitUntil(lambda: any(isinstance(e, Failed) for e in events), timeout=5000)
        failed = next(e for e in events if isinstance(e, Failed))
        assert failed.job_id == job and "could not start" in failed.message
    finally:
        client.shutdown()


# ---------------------------------------------------------------- lanes


def test_training_does_not_block_interactive_jobs(qtbot, client, runtime):
    train = client.submit(training(steps=100_000)).job_id
    qtbot.waitUntil(lambda: client.running_job_id(Lane.TRAIN) == train, timeout=5000)
    job = client.submit(sample(3)).job_id
    wait_for_end(qtbot, client, job)
    assert kinds(client.events, job)[-1] == "Finished"
    assert client.running_job_id(Lane.TRAIN) == train  # still training meanwhile
    client.cancel(train)
    wait_for_end(qtbot, client, train)


def test_one_training_at_a_time(qtbot, client):
    first = client.submit(training(steps=100_000)).job_id
    second = client.submit(training(steps=10)).job_id
    qtbot.waitUntil(lambda: client.running_job_id(Lane.TRAIN) == first, timeout=5000)
    qtbot.wait(100)
    assert kinds(client.events, second) == ["Queued"]
    client.stop(first)
    wait_for_end(qtbot, client, second)
    assert kinds(client.events, second)[-1] == "Finished"


def test_pause_resume_and_stop_a_training(qtbot, client):
    handle = client.submit(training(steps=100_000))
    with qtbot.waitSignal(handle.progress, timeout=5000):
        pass
    with qtbot.waitSignal(handle.paused, timeout=5000):
        handle.pause()
    steps_when_paused = [e.step for e in client.events if isinstance(e, Progress)]
    qtbot.wait(200)
    assert [e.step for e in client.events if isinstance(e, Progress)] == steps_when_paused
    with qtbot.waitSignal(handle.resumed, timeout=5000):
        handle.resume()
    with qtbot.waitSignal(handle.finished, timeout=5000) as finished:
        handle.stop()
    outcome = finished.args[0]
    assert outcome.stopped_early and outcome.step > 0
    order = [n for n in kinds(client.events, handle.job_id) if n != "Progress"]
    assert order == ["Queued", "Started", "Paused", "Resumed", "Finished"]


def test_a_paused_training_can_be_cancelled(qtbot, client):
    handle = client.submit(training(steps=100_000))
    qtbot.waitSignal(handle.started, timeout=5000)
    with qtbot.waitSignal(handle.paused, timeout=5000):
        handle.pause()
    with qtbot.waitSignal(handle.cancelled, timeout=5000):
        handle.cancel()


# ---------------------------------------------------------------- device and shutdown


def test_a_device_change_reaches_the_status_bar_without_a_job(qtbot, client, runtime):
    qtbot.waitUntil(lambda: any(isinstance(e, DeviceInfo) for e in client.events))
    client.set_device_preference("mps")
    qtbot.waitUntil(
        lambda: [e.device for e in client.events if isinstance(e, DeviceInfo)][-1] == "mps",
        timeout=5000,
    )
    assert not [e for e in client.events if isinstance(e, Started)]


def test_queue_take_returns_none_once_closed():
    queue = JobQueue()
    queue.put(Job(1, sample(1)))
    assert [j.job_id for j in queue.close()] == [1]
    assert queue.take(timeout=0.1) is None


def test_shutdown_closes_the_runtime(qtbot, tmp_path, runtime):
    client = LocalEngine(tmp_path, make_runtime=lambda _c: runtime)
    client.start()
    events: list = []
    client.event.connect(events.append)
    job = client.submit(sample(1)).job_id
    qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in events), timeout=5000)
    assert client.shutdown()
    assert runtime.closed
    assert [type(e) for e in events if getattr(e, "job_id", None) == job][0] is Queued


CLOSE_DURING_LOAD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from engine.api.events import Started
    from engine.local_engine import LocalEngine
    from gui.app import exit_now_if_engine_is_stuck
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    class LoadsForever:
        def device_info(self):
            from engine.api.events import DeviceInfo
            return DeviceInfo("cpu", "float32", "CPU · fp32")
        def set_device_preference(self, p):
            return self.device_info()
        def run(self, request, ctx):
            time.sleep(3)  # a weights load: no cancel check inside
            raise RuntimeError("should have been left behind")
        def close(self):
            pass

    app = QApplication([])
    work = Path(sys.argv[1])
    settings = AppSettings(work / "config")
    settings.output_dir = work / "out"
    client = LocalEngine(settings.output_dir, make_runtime=lambda c: LoadsForever())
    window = MainWindow(client, settings)
    window.shutdown_wait_ms = 200
    client.start()
    window.show()
    window.set_mode(1)
    def close_when_started(event):
        if isinstance(event, Started):
            QTimer.singleShot(50, window.close_now)  # Quit Anyway
            QTimer.singleShot(100, app.quit)
    client.event.connect(close_when_started)
    QTimer.singleShot(100, window.generate)
    code = app.exec()
    print("closed", flush=True)
    exit_now_if_engine_is_stuck(code)
    sys.exit(code)
    """
)


def test_closing_during_a_load_that_cannot_be_cancelled_never_aborts(tmp_path):
    script = tmp_path / "close_during_load.py"
    script.write_text(CLOSE_DURING_LOAD)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
    )
    assert "QThread: Destroyed" not in out.stderr
    assert out.returncode == 0, (out.returncode, out.stderr)
    assert "closed" in out.stdout
