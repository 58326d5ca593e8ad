"""The workers as the scheduler sees them: actors started on the cluster, and Ray's
errors turned into plain ones (WorkerLost: that actor is gone, its jobs go to another;
ConnectionLost: this computer lost the cluster itself, its jobs wait until it is back).
Everything Ray-specific the scheduler needs is here, so the scheduler is plain threads
and can be reasoned about (and tested) on its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.api.errors import UserFacingError
from engine.cluster.model_shipping import Manifest
from engine.cluster.polled_runs import PolledWorker
from engine.cluster.worker_actor import EVICTED

log = logging.getLogger(__name__)

# Threads per actor: two jobs streaming, and room for cancel and model calls beside them.
ACTOR_CONCURRENCY = 8
CALL_TIMEOUT_S = 60.0
SHIP_TIMEOUT_S = 3600.0  # a large checkpoint over a slow network
START_TIMEOUT_S = 300.0  # placing an actor, importing torch, choosing its device
POLL_WAIT_S = 0.5  # Ray Client: how long a poll waits on the actor for the next event
# CPU workers use as many threads as a local run (so their pictures are the same), so
# several on one node share its cores: OpenMP threads that wait by spinning would then
# take the cores from each other (measured: 2 workers on 2 cores, 3x slower than 1).
# How threads wait changes no result.
WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


class WorkerLost(Exception):  # noqa: N818 - a state, not a bug
    """The actor died (its process killed, its node gone) or cannot be reached."""


class ConnectionLost(WorkerLost):
    """This computer's connection to the cluster went (Ray Client gave up after its own
    reconnect grace period, the head died…): every worker went with it, none by the
    fault of a job."""


def client_mode() -> bool:
    """Whether this process reaches the cluster through Ray Client (ray://)."""
    from ray.util.client import ray as client

    return bool(client.is_connected())


def _lost(name: str, exc: Exception) -> WorkerLost:
    if isinstance(exc, ConnectionError):
        return ConnectionLost(f"{name}: the connection to the cluster went ({exc})")
    return WorkerLost(f"{name}: {type(exc).__name__}")


class FilesGone(Exception):  # noqa: N818 - a state, not a bug
    """Files placed for a job left the worker's cache before it started (the cache made
    room for others): place them again and resend the job."""

    def __init__(self, shas: list[str]) -> None:
        super().__init__(", ".join(shas))
        self.shas = shas


@dataclass(frozen=True)
class WorkerOptions:
    """How the actors are started. `count` None: one per GPU, or one per node without."""

    count: int | None = None
    cpus_per_cpu_worker: float = 1.0
    device_preference: str = "auto"
    cache_root: str | None = None  # None: each node's user cache folder
    model_dirs: tuple[str, ...] = ()
    cache_limit_gb: float | None = None  # None: the node's LATENTSTUDIO_CLUSTER_CACHE_GB, or 50


@dataclass(eq=False)
class RemoteWorker:
    actor: Any
    name: str
    node_id: str = ""
    description: str = ""
    models: set[str] = field(default_factory=set)  # sha256 of models it has run
    alive: bool = True

    def stream(self, key: str, request_data: dict, placed: tuple) -> Iterator[dict]:
        """The job's events as wire data; WorkerLost if the actor dies on the way,
        ConnectionLost if the cluster itself does, FilesGone if its files left the
        worker's cache before it started."""
        import ray

        lost = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)
        try:
            if client_mode():  # no streaming generators through Ray Client
                yield from self._polled(key, request_data, placed)
                return
            stream = self.actor.run.options(num_returns="streaming").remote(
                key, request_data, placed
            )
            for ref in stream:
                yield _checked(ray.get(ref))
        except (*lost, ConnectionError) as exc:
            raise _lost(self.name, exc) from exc

    def _polled(self, key: str, request_data: dict, placed: tuple) -> Iterator[dict]:
        import ray

        ray.get(self.actor.begin.remote(key, request_data, placed), timeout=CALL_TIMEOUT_S)
        done = False
        while not done:
            items, done = ray.get(self.actor.poll.remote(key, POLL_WAIT_S), timeout=CALL_TIMEOUT_S)
            yield from (_checked(item) for item in items)

    def cancel(self, key: str) -> None:
        try:
            self.actor.cancel.remote(key)  # no wait: the stream says when it stopped
        except Exception:  # noqa: BLE001 - a dead worker's jobs are re-run or dropped anyway
            log.info("could not reach %s to cancel", self.name)

    def stop(self, key: str) -> None:
        try:
            self.actor.stop.remote(key)  # no wait: the job's ending comes by its stream
        except Exception:  # noqa: BLE001 - a dead worker's jobs are re-run or dropped anyway
            log.info("could not reach %s to stop", self.name)

    def pause(self, key: str, order: int) -> None:
        """Pause a job at its step; `order` numbers the job's pauses and resumes, so the
        latest wins however Ray orders the calls."""
        self._tell("pause", key, order)

    def resume(self, key: str, order: int) -> None:
        self._tell("resume", key, order)

    def _tell(self, method: str, key: str, order: int) -> None:
        try:
            getattr(self.actor, method).remote(key, order)  # no wait: Paused comes by its stream
        except Exception:  # noqa: BLE001 - a dead worker's jobs are re-run or dropped anyway
            log.info("could not reach %s to %s", self.name, method)

    def call(self, method: str, *args: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        import ray

        lost = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)
        try:
            return ray.get(getattr(self.actor, method).remote(*args), timeout=timeout)
        except (*lost, ConnectionError) as exc:
            raise _lost(self.name, exc) from exc
        except ray.exceptions.RayTaskError as exc:  # the worker's own sentence, as it said it
            if isinstance(exc.cause, UserFacingError):
                raise exc.cause from None
            raise

    def find_model(self, manifest: Manifest, job_key: str = "") -> str | None:
        return self.call("find_model", manifest, job_key)

    def receive_model(self, manifest: Manifest, refs: list[list[Any]], job_key: str = "") -> str:
        return self.call("receive_model", manifest, refs, job_key, timeout=SHIP_TIMEOUT_S)

    def find_files(self, manifests: list[Manifest], job_key: str = "") -> list[str | None]:
        return self.call("find_files", manifests, job_key)

    def receive_files(self, manifests: list[Manifest], refs: list[list[Any]], job_key: str = ""):
        return self.call("receive_files", manifests, refs, job_key, timeout=SHIP_TIMEOUT_S)

    def kill(self) -> None:
        import ray

        self.alive = False
        with contextlib.suppress(Exception):  # gone already
            ray.kill(self.actor)


def _checked(item: dict) -> dict:
    """A job's stream item; FilesGone when it says the job's files left the cache."""
    if EVICTED in item:
        raise FilesGone(item[EVICTED])
    return item


def worker_slots(options: WorkerOptions) -> list[dict[str, float]]:
    """The Ray resources of each actor: one GPU each where the cluster has GPUs."""
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus and options.count is None:
        return [{"num_gpus": 1, "num_cpus": 1}] * gpus
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    count = options.count if options.count is not None else max(1, nodes)
    return [{"num_cpus": options.cpus_per_cpu_worker}] * count


def start_workers(options: WorkerOptions, first_index: int = 1) -> list[RemoteWorker]:
    """Start the actors and wait until each has said who it is (its runtime started)."""
    import ray

    actor_class = ray.remote(PolledWorker)
    actors = []
    for index, resources in enumerate(worker_slots(options), start=first_index):
        device = "cuda" if resources.get("num_gpus") else "cpu"
        if options.device_preference != "auto":
            device = options.device_preference
        actor = actor_class.options(
            max_concurrency=ACTOR_CONCURRENCY,
            max_restarts=0,
            runtime_env={"env_vars": WORKER_ENV},
            **resources,
        ).remote(
            f"worker {index}",
            device,
            options.cache_root,
            options.model_dirs,
            options.cache_limit_gb,
        )
        actors.append(actor)
    try:
        described = ray.get([a.describe.remote() for a in actors], timeout=START_TIMEOUT_S)
    except Exception:
        for actor in actors:  # not placed (no room on the cluster) or not started
            ray.kill(actor)
        raise
    workers = []
    for actor, info in zip(actors, described, strict=True):
        workers.append(RemoteWorker(actor, info["name"], info["node"], info["device"]))
    return workers
