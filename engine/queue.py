"""A lane's inbox: a thread-safe FIFO of jobs that can be removed or replaced while pending.

Not a queued Qt slot: a worker busy inside a denoising loop handles no slots, but it can
always take the next job from here when it is done. Besides jobs it carries control
calls (run between jobs, before any waiting job), such as "switch device now".
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.api.requests import Request
from engine.context import JobControl

ControlCall = Callable[[], None]


@dataclass
class Job:
    job_id: int
    request: Request
    replace_key: str | None = None
    control: JobControl = field(default_factory=JobControl)


class JobQueue:
    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
        self._calls: deque[ControlCall] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, job: Job) -> Job | None:
        """Append a job. A pending job with the same replace_key is dropped and returned."""
        with self._cond:
            replaced = None
            if job.replace_key is not None:
                replaced = next((j for j in self._jobs if j.replace_key == job.replace_key), None)
                if replaced is not None:
                    self._jobs.remove(replaced)
            self._jobs.append(job)
            self._cond.notify()
            return replaced

    def call_soon(self, call: ControlCall) -> None:
        """Run `call` on the lane's thread before its next job (or at once, when idle)."""
        with self._cond:
            self._calls.append(call)
            self._cond.notify()

    def take(self, timeout: float | None = None) -> Job | ControlCall | None:
        """The next control call or job, blocking; None once closed (or on timeout)."""
        with self._cond:
            self._cond.wait_for(lambda: self._calls or self._jobs or self._closed, timeout)
            if self._closed:
                return None
            if self._calls:
                return self._calls.popleft()
            return self._jobs.popleft() if self._jobs else None

    def remove(self, job_id: int) -> Job | None:
        with self._cond:
            job = next((j for j in self._jobs if j.job_id == job_id), None)
            if job is not None:
                self._jobs.remove(job)
            return job

    def pending(self) -> list[Job]:
        with self._cond:
            return list(self._jobs)

    def close(self) -> list[Job]:
        """Stop serving; returns the jobs that were still waiting."""
        with self._cond:
            self._closed = True
            left = list(self._jobs)
            self._jobs.clear()
            self._cond.notify_all()
            return left
