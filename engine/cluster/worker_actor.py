"""One worker of the cluster: a Ray actor that runs jobs through the local runtime.

It holds one Runtime (its own model cache, its own device) and runs one job at a time
on it, as a local lane does; a second job sent to it waits for the first, so the driver
keeps two in flight without the worker ever idling between them. `run` is a streaming
generator: it yields each engine event as engine.api.wire writes it (a job's Started,
Progress, Preview…, and exactly one ending), so a result's images travel as PNG bytes
with its recipe. Nothing is written here but the model cache: the images are saved by
the driver, in the user's gallery, and a training (a Lab sweep's run) writes into a
scratch folder whose files travel back as bytes, the folder then deleted, with the
folder of images it read laid out there (engine.cluster.scratch_runs, data_files).
`cancel` reaches a running job's JobControl, which its runner reads at every step; so
do `stop`, `pause` and `resume` (a paused training sends Paused, then Resumed, as a
local one does).

The class is plain Python; engine.cluster.pool makes it an actor (ray.remote), so it
can be tested, and benchmarked, without Ray too.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.api.errors import JobCancelled, UserFacingError
from engine.api.events import Cancelled, Event, Failed, Finished, Progress, Started
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.requests import TrainRequest, request_from_dict
from engine.api.wire import event_to_data
from engine.cluster.ip_adapter_files import VIEWS_FOLDER, adapters_beside_encoder
from engine.cluster.model_shipping import Manifest
from engine.cluster.model_store import ModelStore
from engine.cluster.request_files import with_files, with_user_paths
from engine.cluster.scratch_runs import SCRATCH_FOLDER, train_in_scratch
from engine.context import JobContext, JobControl
from engine.worker import failure_for

log = logging.getLogger(__name__)
_END = object()
_KEEP_CONTROLS = 256  # cancels of jobs long gone are forgotten past this many
# The one item of a job's stream that is no event: files placed for it have left the
# cache since (it made room for others), with their sha256; the driver places them again.
EVICTED = "evicted"


class ClusterWorker:
    def __init__(
        self,
        name: str,
        device_preference: str = "auto",
        cache_root: str | None = None,
        model_dirs: tuple[str, ...] = (),
        cache_limit_gb: float | None = None,
    ) -> None:
        self.name = f"{name} ({platform.node()})"
        self._device_preference = device_preference
        self._runtime: Any = None
        self._run_lock = threading.Lock()  # one job at a time on the runtime
        self._controls: dict[str, JobControl] = {}
        self._pause_asks: dict[str, int] = {}  # job key -> the latest pause/resume heeded
        # Per job: the last step it reported, and that step when cancel arrived (what
        # "cancel stops a job within one step" is measured by).
        self._steps: dict[str, int] = {}
        self.cancels: dict[str, tuple[int, int]] = {}  # key -> (step at cancel, last step)
        self._controls_lock = threading.Lock()
        self._reserved: dict[str, list[str]] = {}  # job key -> cache entries placed for it
        self.models = ModelStore(
            Path(cache_root) if cache_root else None,
            tuple(Path(d) for d in model_dirs),
            cache_limit_gb,
        )

    # ------------------------------------------------------------ describing

    def describe(self) -> dict[str, Any]:
        """Who this worker is: its name, host, process and device."""
        try:
            import ray

            node = ray.get_runtime_context().get_node_id()
        except Exception:  # noqa: BLE001 - outside Ray (tests, bench): the host is the node
            node = platform.node()
        return {
            "name": self.name,
            "node": node,
            "host": platform.node(),
            "pid": os.getpid(),
            "device": self._get_runtime().device_info().description,
        }

    def ping(self) -> str:
        return self.name

    # ------------------------------------------------------------ models

    def find_model(self, manifest: Manifest, job_key: str = "") -> str | None:
        """Where this worker holds the model; kept for job `job_key` until it ends."""
        found = self.models.find(manifest)
        if found is None:
            return None
        self._reserve(job_key, found)
        return str(found)

    def receive_model(self, manifest: Manifest, pieces: list[list[Any]], job_key: str = "") -> str:
        """Keep a model sent from the driver; `pieces` are the object refs of each file's
        pieces, fetched one at a time as they are written (one piece in memory)."""
        import ray

        files = [(ray.get(ref) for ref in refs) for refs in pieces]
        path = self.models.receive_streamed(manifest, files)
        self._reserve(job_key, path)
        return str(path)

    def find_files(self, manifests: list[Manifest], job_key: str = "") -> list[str | None]:
        """`find_model` for many files in one call, in the cache only (a training's
        images: found by sha256, never searched for by name in the model folders)."""
        found = [self.models.find_cached(manifest) for manifest in manifests]
        for path in found:
            if path is not None:
                self._reserve(job_key, path)
        return [str(path) if path is not None else None for path in found]

    def receive_files(
        self, manifests: list[Manifest], contents: list[list[Any]], job_key: str = ""
    ) -> list[str]:
        """`receive_model` for many files in one call: each manifest's object refs,
        fetched together; every name checked before any file is written."""
        import ray

        fetched = iter(ray.get([ref for refs in contents for ref in refs]))
        items = [
            (m, [next(fetched) for _ in refs]) for m, refs in zip(manifests, contents, strict=True)
        ]
        paths = self.models.receive_all(items, lambda path: self._reserve(job_key, path))
        return [str(path) for path in paths]

    def _reserve(self, job_key: str, path: Path) -> None:
        """Keep a file placed for a job from eviction until the job ends: placing the
        job's next file must not make room by taking this one."""
        key = self.models.key_of(str(path))
        if job_key and key:
            self.models.hold(key)
            with self._controls_lock:
                self._reserved.setdefault(job_key, []).append(key)

    def received_models(self) -> list[str]:
        return list(self.models.received)

    def evicted_models(self) -> list[str]:
        return list(self.models.evicted)

    # ------------------------------------------------------------ jobs

    def run(
        self, key: str, request_data: dict[str, Any], placed: tuple[tuple[str, str], ...] = ()
    ) -> Iterator[dict]:
        """Run one job, yielding its events as wire data; `placed` pairs each file the
        request names (as it spells it) with where this worker holds it."""
        control = self._control(key)
        events: queue.Queue = queue.Queue()
        thread = threading.Thread(
            target=self._work,
            args=(key, request_data, dict(placed), control, events),
            name=f"job-{key}",
            daemon=True,
        )
        thread.start()
        while (event := events.get()) is not _END:
            yield event if isinstance(event, dict) else event_to_data(event)

    def cancel(self, key: str) -> None:
        with self._controls_lock:
            self.cancels[key] = (self._steps.get(key, 0), -1)
        self._control(key).cancel()

    def stop(self, key: str) -> None:
        """End a training at its step, its checkpoint written and sent back (Stop)."""
        self._control(key).stop()

    def pause(self, key: str, order: int = 0) -> None:
        """Pause a job at its next step (it sends Paused), or before it starts."""
        self._ask_pause(key, True, order)

    def resume(self, key: str, order: int = 0) -> None:
        self._ask_pause(key, False, order)

    def _ask_pause(self, key: str, paused: bool, order: int) -> None:
        """The latest ask wins: a threaded actor may run two calls out of order."""
        with self._controls_lock:
            if order < self._pause_asks.get(key, 0):
                return
            self._pause_asks[key] = order
            while len(self._pause_asks) > _KEEP_CONTROLS:
                self._pause_asks.pop(next(iter(self._pause_asks)))
            control = self._control_locked(key)
            if paused:
                control.pause()
            else:
                control.resume()

    def cancel_record(self, key: str) -> tuple[int, int] | None:
        return self.cancels.get(key)

    def _control(self, key: str) -> JobControl:
        with self._controls_lock:
            return self._control_locked(key)

    def _control_locked(self, key: str) -> JobControl:
        control = self._controls.get(key)
        if control is None:
            if len(self._controls) >= _KEEP_CONTROLS:
                self._controls.pop(next(iter(self._controls)))
            control = self._controls[key] = JobControl()
        return control

    def _work(
        self,
        key: str,
        request_data: dict[str, Any],
        placed: dict[str, str],
        control: JobControl,
        events: queue.Queue,
    ) -> None:
        try:
            # Its files stay in the cache from now until it ends, waiting included.
            # ("": a key with no file: engine.cluster.data_files)
            with self.models.holding(p for p in placed.values() if p) as gone:
                if gone:
                    events.put({EVICTED: sorted({self.models.key_of(p) or p for p in gone})})
                    return
                with self._run_lock:
                    emit = self._stepping(key, events.put)
                    ending = self._run_one(request_data, placed, control, emit)
                    self._record_last_step(key)  # before the driver hears the ending
                    events.put(ending)
        finally:
            events.put(_END)
            self._record_last_step(key)  # again, for a job that ended some other way
            with self._controls_lock:
                reserved = self._reserved.pop(key, [])
                self._controls.pop(key, None)
                self._pause_asks.pop(key, None)
                self._steps.pop(key, None)
            for entry in reserved:
                self.models.release(entry)

    def _record_last_step(self, key: str) -> None:
        """A cancelled job's record: the step it was at when cancel came, and its last."""
        with self._controls_lock:
            if key in self.cancels:
                self.cancels[key] = (self.cancels[key][0], self._steps.get(key, 0))
                while len(self.cancels) > _KEEP_CONTROLS:
                    self.cancels.pop(next(iter(self.cancels)))

    def _stepping(self, key: str, emit):
        def send(event: Event) -> None:
            if isinstance(event, Progress):
                self._steps[key] = event.step
            emit(event)

        return send

    def _run_one(self, request_data: dict, placed: dict, control: JobControl, emit) -> Event:
        """The job's ending event; its other events go to `emit` as they happen."""
        if control.cancelled:  # cancelled while it waited for the job before it
            return Cancelled(0)
        try:
            request = request_from_dict(request_data)
            views = self.models.cache_root.parent / VIEWS_FOLDER
            with adapters_beside_encoder(request, placed, views) as here:
                runtime = self._get_runtime()
                emit(Started(0, request, worker=self.name))
                context = JobContext(0, emit=emit, control=control)
                job = with_files(request, here)
                outcome = self._execute(runtime, request, job, context, here)
        except JobCancelled:
            return Cancelled(0)
        except Exception as exc:  # noqa: BLE001 - the worker survives any job
            if not isinstance(exc, UserFacingError):
                log.exception("job failed on %s", self.name)
            return Failed(0, *failure_for(exc))
        return Finished(0, _cached_paths(outcome, placed, here))

    def _execute(
        self, runtime: Any, asked: Any, request: Any, context: JobContext, placed: dict
    ) -> Outcome:
        """`request` (`asked` with this worker's paths) run on the runtime."""
        if isinstance(request, TrainRequest):  # in a scratch folder; its files come back
            root = self.models.cache_root.parent / SCRATCH_FOLDER
            run = lambda train: runtime.run(train, context)  # noqa: E731
            return train_in_scratch(request, root, run, asked, placed)
        return runtime.run(request, context)

    def _get_runtime(self) -> Any:
        if self._runtime is None:
            import torch  # torch enters the actor's process here

            from engine.runtime import Runtime

            # Ray caps a CPU actor's threads at its CPUs; a picture's last bits depend on
            # how the CPU splits its sums, so use the threads a local run here would, and
            # the pictures equal a local run's pixel for pixel.
            torch.set_num_threads(local_threads())
            self._runtime = Runtime(device_preference=self._device_preference)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None


def local_threads() -> int:
    """The threads torch uses in a process Ray did not start: one per usable core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _cached_paths(outcome: Outcome, placed: dict[str, str], here: dict[str, str]) -> Outcome:
    """The pictures' info naming the files as placed, not their links of the job's own
    (which the driver would not know to name the user's again)."""
    if here is placed or not isinstance(outcome, ImagesOutcome):
        return outcome
    links = {placed[text]: link for text, link in here.items() if link != placed[text]}
    images = tuple(replace(i, info=with_user_paths(i.info, links)) for i in outcome.images)
    return replace(outcome, images=images)
