"""What a runner gets to talk to the outside world while a job runs.

- `report(step, total, ...)` once per step: checks for cancel first (so a cancel takes
  effect within one step), then sends Progress, and a throttled Preview;
- `metrics(step, values)` and `frames(images)`: throttled like previews;
- `step_boundary()` in training loops: waits while paused, and says when to stop.

A job's JobControl is shared with the client, which sets cancel/stop/pause from the GUI
thread; the runner only ever reads it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.api.errors import JobCancelled
from engine.api.events import Event, Frames, Metrics, Paused, Preview, Progress, Resumed

PREVIEW_INTERVAL_S = 0.1
# Training loops report Progress (and their losses with it) four times a second: enough for
# a bar and a plot, and few enough that the GUI thread, which shares the interpreter and the
# cores with the loop, barely slows it (at 20 a second, measured, the Train tab ran 1.5x
# slower than the engine alone).
TRAINING_REPORT_INTERVAL_S = 0.25

PreviewSource = Callable[[], np.ndarray]


class JobControl:
    """Cancel (drop the work), stop (finish early, keep what is done), pause and resume."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._stopped = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # a paused job must wake up to notice

    def stop(self) -> None:
        self._stopped.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; True once running again (or cancelled/stopped)."""
        return self._running.wait(timeout)


class _Throttle:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last = float("-inf")

    def due(self, force: bool = False) -> bool:
        now = time.perf_counter()
        if force or now - self._last >= self.interval_s:
            self._last = now
            return True
        return False


@dataclass
class JobContext:
    job_id: int
    emit: Callable[[Event], None] = lambda event: None
    control: JobControl = field(default_factory=JobControl)
    previews: bool = True
    phase: str = "working"  # what the job is doing, for an out-of-memory sentence
    _started: float = field(default_factory=time.perf_counter)
    _progress: _Throttle = field(default_factory=lambda: _Throttle(TRAINING_REPORT_INTERVAL_S))
    _preview: _Throttle = field(default_factory=lambda: _Throttle(PREVIEW_INTERVAL_S))
    _metrics: _Throttle = field(default_factory=lambda: _Throttle(PREVIEW_INTERVAL_S))
    _frames: _Throttle = field(default_factory=lambda: _Throttle(PREVIEW_INTERVAL_S))

    def check_cancelled(self) -> None:
        if self.control.cancelled:
            raise JobCancelled()

    def report(
        self,
        step: int,
        total: int,
        preview: PreviewSource | None = None,
        message: str = "",
        done: float | None = None,
        throttle: bool = False,
    ) -> bool:
        """Record that `step` of `total` steps is done; raise JobCancelled if asked to stop.

        `done` is the fraction of the job's work finished, when it is not step/total
        (Heun evaluates the model twice per step): the ETA and rate are measured in it.
        `throttle`: send at most 4 Progress events a second (fast training loops); the
        result says whether this one was sent.
        `preview` is a callable so that the (cheap, but not free) projection to RGB only
        runs when a preview is actually due.
        """
        self.check_cancelled()
        if throttle and step != total and not self._progress.due():
            return False
        fraction = step / total if done is None and total else (done or 0.0)
        elapsed = time.perf_counter() - self._started
        rate = step / elapsed if step and elapsed > 0 else None
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 and elapsed > 0 else None
        self.emit(Progress(self.job_id, step, total, eta, rate, message))
        if preview is not None and self.previews and self._preview.due():
            rgb = np.ascontiguousarray(preview(), dtype=np.uint8).copy()
            self.emit(Preview(self.job_id, rgb))
        return True

    def metrics(self, step: int, values: dict[str, float], force: bool = False) -> bool:
        """Send measured numbers (at most one batch per ~100 ms unless forced)."""
        if not self._metrics.due(force):
            return False
        self.emit(Metrics(self.job_id, step, {k: float(v) for k, v in values.items()}))
        return True

    def frames(
        self, images: Sequence[np.ndarray], labels: Sequence[str] = (), force: bool = False
    ) -> bool:
        """Send images to show while the job runs (throttled like previews)."""
        if not self._frames.due(force):
            return False
        copies = tuple(np.ascontiguousarray(i, dtype=np.uint8).copy() for i in images)
        self.emit(Frames(self.job_id, copies, tuple(labels)))
        return True

    def step_boundary(self) -> bool:
        """Between two training steps: wait while paused; True when the job should stop.

        Raises JobCancelled when cancelled (also while paused).
        """
        if self.control.paused:
            self.emit(Paused(self.job_id))
            while not self.control.wait_while_paused(0.1):
                pass
            self.check_cancelled()
            if not self.control.stopped:
                self.emit(Resumed(self.job_id))
        self.check_cancelled()
        return self.control.stopped

    def restart_clock(self) -> None:
        """Call after model loading so it/s and ETA describe the loop only."""
        self._started = time.perf_counter()
