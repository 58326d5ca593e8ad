"""The engine on a Ray cluster of this computer against the local runtime (issue 25).

- `cluster_job_overhead`: the same tiny SD job (64², 3 steps, saved to a gallery) run by
  the local runtime, as a lane runs it, and on one warm Ray worker (request sent, events
  streamed back, pictures saved here); interleaved medians, the difference per job.
  Should be at most 100 ms.
- `cluster_throughput_ratio`: 32 pictures on 2 CPU workers against 1, warm; the
  speed-up. On this 2-core machine each worker already uses both cores (a CPU worker
  uses the threads a local run would, so its pictures are the same), so about 1 is the
  expected figure here; on a cluster of GPUs each worker has its own and the figure
  should approach the number of GPUs.
- `cluster_first_preview`: Generate → first preview (20 steps), remote and local, warm.
- `cluster_folder_*` (`python -m bench.cluster folder`): a Lab sweep's folder of
  FOLDER_IMAGES small PNGs got to a worker as the scheduler places a run's files, on 2
  CPU actors whose model folder holds MODEL_LIBRARY files (a user's library): listing
  and hashing here, the first time (the node's cache empty), and a new driver's run
  again (a second worker of the node, the cache holding every image; the hashes in
  this computer's hash cache); ms per image.
- `cluster_ship_*` (`python -m bench.cluster ship`): a SHIP_MB MB checkpoint sent to a
  fresh CPU worker as a job's model is: the private memory it added to this process
  and to the worker's at their peaks (sampled; the object store's shared pages left
  out), and MB/s from asking to its landing in the node's cache.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))
# The workers' OpenMP threads wait passively (engine.cluster.pool): so do this process's,
# or the local side's spinning threads take the cores from the worker next to it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

RUNS = 10
BATCH = 32
FOLDER_IMAGES = 500
MODEL_LIBRARY = 200  # files in the workers' model folder, 20 subfolders of 10
SHIP_MB = 1024


class Waiter:
    """Collects a session's events; waits for endings or a first preview."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.endings = 0
        self.first_preview: float | None = None

    def __call__(self, event) -> None:
        from engine.api.events import ENDINGS, Preview

        with self.cond:
            if isinstance(event, ENDINGS):
                self.endings += 1
            if isinstance(event, Preview) and self.first_preview is None:
                self.first_preview = time.perf_counter()
            self.cond.notify_all()

    def wait(self, predicate) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, 600)


def main() -> None:
    import statistics
    from concurrent.futures import ThreadPoolExecutor

    import ray

    from engine.api.events import Preview
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.session import ClusterSession
    from engine.context import JobContext
    from engine.models.sd.tiny import build_tiny_pipeline
    from engine.runtime import Runtime
    from engine.store import GalleryStore

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    model = build_tiny_pipeline(work / "tiny-sd")
    store = GalleryStore(work / "out")

    def request(seed: int, steps: int = 3) -> Txt2ImgRequest:
        return Txt2ImgRequest(
            model=ModelRef(Family.SD, str(model)),
            prompt=Prompt("a lighthouse at dusk", "blurry"),
            size=Size(64, 64),
            sampling=Sampling(steps=steps, seed=seed),
        )

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    runtime = Runtime(store=lambda: store, device_preference="cpu")
    waiter = Waiter()
    session = ClusterSession(lambda: store, waiter)

    def session_with(count: int) -> ClusterSession:
        nonlocal session, waiter
        session.close()
        waiter = Waiter()
        session = ClusterSession(lambda: store, waiter)
        session.start_workers(WorkerOptions(count=count, cache_root=str(work / "cache")))
        return session

    ids = iter(range(1, 10**6))

    def remote(count: int, steps: int = 3) -> None:
        start = waiter.endings
        for seed in range(count):
            session.submit(next(ids), request(seed, steps))
        waiter.wait(lambda: waiter.endings == start + count)

    lane = ThreadPoolExecutor(1)  # one long-lived thread, as a local lane runs its jobs

    def local(steps: int = 3, emit=lambda event: None) -> None:
        lane.submit(runtime.run, request(0, steps), JobContext(0, emit=emit)).result()

    # Per-job overhead: one warm worker against the local runtime, interleaved.
    session_with(1)
    remote(len(session.scheduler.workers))  # the model sent, loaded: warm
    local()
    local_times, remote_times = [], []
    for _ in range(RUNS):
        for job, times in ((local, local_times), (lambda: remote(1), remote_times)):
            begin = time.perf_counter()
            job()
            times.append(time.perf_counter() - begin)
    local_s, remote_s = statistics.median(local_times), statistics.median(remote_times)
    print(f"cluster_job_local: {local_s * 1000:.0f} ms")
    print(f"cluster_job_remote: {remote_s * 1000:.0f} ms")
    print(f"cluster_job_overhead: {(remote_s - local_s) * 1000:.0f} ms")

    # Generate → first preview, remote (this warm worker) and local.
    ended = waiter.endings
    waiter.first_preview = None  # the 3-step jobs' previews came before
    begin = time.perf_counter()
    session.submit(next(ids), request(0, steps=20))
    waiter.wait(lambda: waiter.first_preview is not None)
    remote_preview = waiter.first_preview - begin
    waiter.wait(lambda: waiter.endings == ended + 1)
    seen: list[float] = []
    begin = time.perf_counter()
    local(20, lambda event: seen.append(time.perf_counter()) if isinstance(event, Preview) else 0)
    print(f"cluster_first_preview_remote: {remote_preview * 1000:.0f} ms")
    print(f"cluster_first_preview_local: {(seen[0] - begin) * 1000:.0f} ms")

    # Throughput: 32 pictures on 1 worker, then on 2.
    seconds = {}
    for count in (1, 2):
        session_with(count)
        remote(count)  # each worker warm
        begin = time.perf_counter()
        remote(BATCH)
        seconds[count] = time.perf_counter() - begin
        print(f"cluster_{BATCH}_pictures_{count}_workers: {BATCH / seconds[count]:.2f} pictures/s")
    print(f"cluster_throughput_ratio: {seconds[1] / seconds[2]:.2f} x")
    session.close()
    runtime.close()
    store.close()
    ray.shutdown()


def folder() -> None:
    import numpy as np
    import ray
    from PIL import Image

    from engine.api.kinds import Family
    from engine.api.parts import DatasetRef, Training
    from engine.api.requests import TrainRequest
    from engine.cluster.model_shipping import ModelShipper
    from engine.cluster.pool import WorkerOptions, start_workers
    from engine.cluster.scheduler import RemoteJob, Scheduler

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-folder-"))
    rng = np.random.default_rng(0)
    (work / "photos").mkdir()
    for index in range(FOLDER_IMAGES):
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(work / "photos" / f"{index:04d}.png")
    for index in range(MODEL_LIBRARY):
        model = work / "models" / f"kind-{index // 10}" / f"model-{index}.safetensors"
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"x" * 64)
    request = TrainRequest(
        family=Family("gmm"), preset="custom", dataset=DatasetRef(str(work / "photos")),
        image_size=16, training=Training(steps=1), output=str(work / "run.safetensors"),
    )  # fmt: skip

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    options = WorkerOptions(2, 0.5, "cpu", str(work / "cache"), (str(work / "models"),))
    first, second = start_workers(options)

    def placed(worker) -> tuple[float, float]:
        """Seconds to list and hash the folder (a new driver: nothing remembered), and
        to get its files to `worker`, as the scheduler places a run's files."""
        shipper = ModelShipper()
        begin = time.perf_counter()
        files = shipper.files(request)
        listed = time.perf_counter()
        scheduler = Scheduler([], lambda job, event: None, shipper)
        try:
            where = scheduler._place_files(RemoteJob(0, request, files=files), worker)
        finally:
            scheduler.close()
        assert len([p for p in where.values() if p]) == FOLDER_IMAGES
        return listed - begin, time.perf_counter() - listed

    per_image = 1000 / FOLDER_IMAGES
    hashing, cold = placed(first)
    rehashing, warm = placed(second)  # the same node: every image in its cache
    print(f"cluster_folder_list_hash: {hashing * per_image:.2f} ms/image")
    print(f"cluster_folder_list_hash_again: {rehashing * per_image:.2f} ms/image")
    print(f"cluster_folder_first: {cold * per_image:.2f} ms/image")
    print(f"cluster_folder_cached: {warm * per_image:.2f} ms/image")
    ray.shutdown()


def _private_kb(pid: int | str) -> int:
    """A process's private resident memory (Linux's RssAnon): the object store's shared
    pages, mapped into driver and worker alike, left out."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise LookupError("RssAnon")


class PeakSampler(threading.Thread):
    """The peak of each process's private memory, sampled every 5 ms while it runs."""

    def __init__(self, pids: list[int | str]) -> None:
        super().__init__(daemon=True)
        self.base = {pid: _private_kb(pid) for pid in pids}
        self.peak = dict(self.base)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], _private_kb(pid))

    def added_gb(self, pid: int | str) -> float:
        return (self.peak[pid] - self.base[pid]) / 1e6


def _worker_pid() -> int:
    """The one worker actor's process (Ray titles it `ray::PolledWorker`)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"ray::PolledWorker" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    raise LookupError("no worker process")


def ship() -> None:
    import ray

    from engine.cluster.model_shipping import ModelShipper, manifest_of
    from engine.cluster.pool import WorkerOptions, start_workers

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-ship-"))
    model = work / "big.safetensors"
    with model.open("wb") as out:  # random: nothing compresses or dedups it
        for _ in range(SHIP_MB):
            out.write(os.urandom(1 << 20))
    manifest = manifest_of(model)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    (worker,) = start_workers(WorkerOptions(1, 1.0, "cpu", str(work / "cache"), ()))
    pid = _worker_pid()
    sampler = PeakSampler(["self", pid])
    sampler.start()
    begin = time.perf_counter()
    placed = ModelShipper().place(worker, manifest, model)
    seconds = time.perf_counter() - begin
    sampler.done.set()
    sampler.join()
    assert Path(placed).stat().st_size == SHIP_MB << 20
    print(f"cluster_ship_driver_memory_added: {sampler.added_gb('self'):.2f} GB")
    print(f"cluster_ship_worker_memory_added: {sampler.added_gb(pid):.2f} GB")
    print(f"cluster_ship_rate: {SHIP_MB / seconds:.0f} MB/s")
    ray.shutdown()


if __name__ == "__main__":
    import sys

    modes = {"folder": folder, "ship": ship}
    modes.get(sys.argv[1] if sys.argv[1:] else "", main)()
