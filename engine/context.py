"""What a runner gets to talk to the outside world: a cancel token and a progress reporter.

Runners call `ctx.report(step, total, preview=...)` once per step. `report` checks the
cancel token first, so cancellation takes effect within one step, and it throttles
previews so a fast loop does not spend its time rendering them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.errors import JobCancelled
from engine.jobs import Event, Preview, Progress

PREVIEW_INTERVAL_S = 0.1

PreviewSource = Callable[[], np.ndarray]


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class JobContext:
    job_id: int
    emit: Callable[[Event], None] = lambda event: None
    cancel_token: CancelToken = field(default_factory=CancelToken)
    previews: bool = True
    _started: float = field(default_factory=time.perf_counter)
    _last_preview: float = float("-inf")

    def check_cancelled(self) -> None:
        if self.cancel_token.cancelled:
            raise JobCancelled()

    def report(
        self,
        step: int,
        total: int,
        preview: PreviewSource | None = None,
        message: str = "",
    ) -> None:
        """Record that `step` of `total` steps is done; raise JobCancelled if asked to stop.

        `preview` is a callable so that the (cheap, but not free) projection to RGB only
        runs when a preview is actually due.
        """
        self.check_cancelled()
        elapsed = time.perf_counter() - self._started
        rate = step / elapsed if step and elapsed > 0 else None
        eta = (total - step) / rate if rate else None
        self.emit(Progress(self.job_id, step, total, eta, rate, message))
        now = time.perf_counter()
        if preview is not None and self.previews and now - self._last_preview >= PREVIEW_INTERVAL_S:
            self._last_preview = now
            rgb = np.ascontiguousarray(preview(), dtype=np.uint8).copy()
            self.emit(Preview(self.job_id, rgb))

    def restart_clock(self) -> None:
        """Call after model loading so it/s and ETA describe the denoising loop only."""
        self._started = time.perf_counter()
