"""The worker's inbox: a thread-safe FIFO of jobs that can be removed or replaced while pending.

Not a queued Qt slot: a worker busy inside a denoising loop handles no slots, but it can
always take the next job from here when it is done.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from engine.context import CancelToken
from engine.jobs import Request


@dataclass
class Job:
    job_id: int
    request: Request
    replace_key: str | None = None
    cancel_token: CancelToken = field(default_factory=CancelToken)


class JobQueue:
    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
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

    def take(self, timeout: float | None = None) -> Job | None:
        """The next job, blocking; None once the queue is closed (or on timeout)."""
        with self._cond:
            self._cond.wait_for(lambda: self._jobs or self._closed, timeout)
            if self._closed or not self._jobs:
                return None
            return self._jobs.popleft()

    def remove(self, job_id: int) -> Job | None:
        with self._cond:
            job = next((j for j in self._jobs if j.job_id == job_id), None)
            if job is not None:
                self._jobs.remove(job)
            return job

    def pending(self) -> list[Job]:
        with self._cond:
            return list(self._jobs)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
