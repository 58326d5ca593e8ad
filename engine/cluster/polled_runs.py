"""A job's events fetched in batches, for a driver connected through Ray Client.

Ray Client (`ray://HOST:PORT`, a laptop outside the cluster) cannot call a streaming
generator (Ray 2.60: 'Streaming actor methods are not currently supported when using
Ray Client'), so ClusterWorker.run's events cannot travel as they are made. Here the
actor drains its own `run` into a buffer (`begin`), and the driver asks for what has
come so far (`poll`), waiting a moment on the actor when nothing has. The events, and
their order, are the ones `run` yields: the same pictures, the same progress, the
same cancel (ClusterWorker.cancel reaches the job as before).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from engine.cluster.worker_actor import ClusterWorker

_DONE = object()


class PolledWorker(ClusterWorker):
    """ClusterWorker with begin/poll beside its streaming `run` (one actor serves both)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffers: dict[str, queue.Queue] = {}
        self._buffers_lock = threading.Lock()

    def begin(
        self, key: str, request_data: dict[str, Any], placed: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Start a job; its events wait here for `poll`."""
        buffer: queue.Queue = queue.Queue()
        with self._buffers_lock:
            self._buffers[key] = buffer
        threading.Thread(
            target=self._drain, args=(key, request_data, placed, buffer), daemon=True
        ).start()

    def _drain(self, key: str, request_data: dict, placed: tuple, buffer: queue.Queue) -> None:
        try:
            for item in self.run(key, request_data, placed):
                buffer.put(item)
        finally:
            buffer.put(_DONE)

    def poll(self, key: str, wait_s: float = 0.5) -> tuple[list[dict], bool]:
        """The job's events since the last poll (waiting up to `wait_s` for the first),
        and whether that was all of them."""
        with self._buffers_lock:
            buffer = self._buffers.get(key)
        if buffer is None:  # never begun here, or already done: nothing more will come
            return [], True
        items: list[dict] = []
        try:
            item = buffer.get(timeout=wait_s)
            while True:
                if item is _DONE:
                    with self._buffers_lock:
                        self._buffers.pop(key, None)
                    return items, True
                items.append(item)
                item = buffer.get_nowait()
        except queue.Empty:
            return items, False
