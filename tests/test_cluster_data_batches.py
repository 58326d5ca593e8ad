"""A training's folder of images placed on cluster workers in batches (issue 25: a folder
of 5,000 photos): on a real local Ray cluster (two CPU actors of one node, no dashboard)
a worker holding some of a folder's images receives only the others, a second sweep
over the same folder (a new driver) sends no image again, and an image is looked for in
the worker's cache only, never by its name in the worker's model folders. Without Ray,
the worker's cache checks every name of a batch before writing any file of it, and
writes the same bytes under two names once. The oracles are hashlib's sha256 of the
files' bytes and the files on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadModelFile
from engine.api.kinds import Family
from engine.api.parts import DatasetRef
from engine.api.requests import TrainRequest
from engine.cluster.model_shipping import Manifest, ManifestFile
from engine.cluster.model_store import ModelStore


def picture(path: Path, seed: int) -> str:
    """A small PNG at `path`; its sha256, by hashlib."""
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_over(folder: Path) -> TrainRequest:
    return TrainRequest(
        family=Family("gmm"), preset="custom", dataset=DatasetRef(str(folder)), output="x"
    )


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """Two CPU actors of this computer's node, sharing one cache folder; their model
    folder holds a copy of the first picture under its own name."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")
    from engine.cluster.pool import WorkerOptions, start_workers

    root = tmp_path_factory.mktemp("workers")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="tests")
    options = WorkerOptions(2, 0.5, "cpu", str(root / "cache"), (str(root / "models"),))
    try:
        yield start_workers(options), root
    finally:
        ray.shutdown()


def place_folder(worker, folder: Path) -> tuple[dict[str, str], list[str]]:
    """The folder's images placed on `worker` by a new driver (nothing remembered):
    where the worker has each, and the sha256 of each image sent."""
    from engine.cluster.data_files import IMAGE_TAG
    from engine.cluster.model_shipping import ModelShipper

    shipper = ModelShipper()
    images = [(k, m) for k, m in shipper.files(training_over(folder)) if k.startswith(IMAGE_TAG)]
    placed = shipper.place_images(worker, images, "job")
    return placed, [sha for _node, sha in shipper.sent]


def received(worker) -> list[str]:
    import ray

    return ray.get(worker.actor.received_models.remote())


def test_a_worker_receives_only_the_images_its_node_lacks_and_a_second_sweep_none(
    workers, tmp_path
):
    (first, second), root = workers
    folder = tmp_path / "photos"
    old = {picture(folder / f"{i}.png", i) for i in range(6)}
    (root / "models").mkdir(exist_ok=True)
    shutil.copy(folder / "0.png", root / "models" / "0.png")  # the same name and bytes

    placed, sent = place_folder(first, folder)
    assert sorted(sent) == sorted(received(first)) == sorted(old)
    # Looked for in the cache only: the model folder's copy is not taken for the image.
    cache = root / "cache" / "cluster-models"
    assert all(Path(p).is_relative_to(cache) for p in placed.values())

    new = {picture(folder / "more" / f"{i}.png", 100 + i) for i in range(4)}
    placed, sent = place_folder(second, folder)  # the node's cache holds the first six
    assert sorted(sent) == sorted(received(second)) == sorted(new)
    assert len(placed) == 10
    for key, there in placed.items():  # each image there is the image here
        here = Path(key.split("\0", 1)[1])
        assert Path(there).read_bytes() == here.read_bytes()

    for worker in (first, second):  # a second sweep over the same folder: nothing sent
        before = received(worker)
        placed, sent = place_folder(worker, folder)
        assert sent == [] and received(worker) == before and len(placed) == 10
    entries = [p for p in cache.iterdir() if len(p.name) == 64]
    assert sorted(p.name for p in entries) == sorted(old | new)


def test_a_batch_with_one_hostile_name_writes_nothing(tmp_path):
    store = ModelStore(tmp_path / "cache")
    items = []
    for name in ("a.png", "b.png", "../escaped.png"):
        data = name.encode() * 10
        sha = hashlib.sha256(data).hexdigest()
        items.append((Manifest(name, sha, (ManifestFile("", len(data), sha),)), [data]))
    with pytest.raises(BadModelFile, match="not a plain path inside its cache folder"):
        store.receive_all(items)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and ".sqlite3" not in p.name] == []
    assert store.received == []


def test_the_same_bytes_under_two_names_in_one_batch_are_written_once(tmp_path):
    store = ModelStore(tmp_path / "cache")
    data = b"the same photo"
    sha = hashlib.sha256(data).hexdigest()
    files = (ManifestFile("", len(data), sha),)
    kept: list[Path] = []
    paths = store.receive_all(
        [(Manifest("a.png", sha, files), [data]), (Manifest("copy.png", sha, files), [data])],
        kept.append,
    )
    assert [p.name for p in paths] == ["a.png", "copy.png"] and kept == paths
    assert all(p.read_bytes() == data for p in paths)
    assert store.received == [sha]


def receiving_worker(name: str, node: str, cache: Path, dies_at: int | None = None):
    """A scripted worker (tests.test_cluster_scheduler's) with its node's own cache; one
    that `dies_at` its n-th batch of images raises WorkerLost there."""
    from engine.cluster.pool import WorkerLost
    from tests.test_cluster_scheduler import ScriptedWorker

    worker = ScriptedWorker(name, node_id=node)
    worker.store = ModelStore(cache)
    batches = []

    def find_files(manifests, job_key=""):
        return [worker.store.find_cached(m) for m in manifests]

    def receive_files(manifests, contents, job_key=""):
        batches.append(manifests)
        if len(batches) == dies_at:
            raise WorkerLost(name)
        return worker.store.receive_all(list(zip(manifests, contents, strict=True)))

    worker.find_files, worker.receive_files = find_files, receive_files
    return worker


def test_a_worker_lost_mid_transfer_has_its_run_placed_and_run_on_another(tmp_path, monkeypatch):
    from engine.api.events import ENDINGS, Finished
    from engine.cluster import model_shipping
    from engine.cluster.scheduler import RemoteJob, Scheduler

    folder = tmp_path / "photos"
    shas = {picture(folder / f"{i}.png", i) for i in range(5)}
    size = max(p.stat().st_size for p in folder.iterdir())
    monkeypatch.setattr(model_shipping, "BATCH_BYTES", 2 * size)  # three batches
    shipper = model_shipping.ModelShipper()
    shipper._image_refs = lambda manifest, source: [source.read_bytes()]  # no object store
    lost = receiving_worker("lost", "node-1", tmp_path / "one", dies_at=2)
    other = receiving_worker("other", "node-2", tmp_path / "two")
    endings, done = [], threading.Event()

    def deliver(job, event):
        if isinstance(event, ENDINGS):
            endings.append(event)
            done.set()

    scheduler = Scheduler([lost], deliver, shipper)
    scheduler.submit(RemoteJob(1, training_over(folder)))
    for _ in range(500):  # its first batch landed, its second lost the worker
        if not lost.alive:
            break
        threading.Event().wait(0.01)
    scheduler.add_workers([other])
    other.gate.set()
    assert done.wait(20)
    scheduler.close()
    assert len(endings) == 1 and isinstance(endings[0], Finished)
    assert lost.ran == [] and len(other.ran) == 1
    assert sorted(other.store.received) == sorted(shas)
    assert len(lost.store.received) == 2  # the first batch, kept in its node's cache


def test_a_folder_is_hashed_once_not_once_per_driver(tmp_path, monkeypatch):
    from engine.cluster import model_shipping
    from engine.hashing import HashCache

    folder = tmp_path / "photos"
    shas = {picture(folder / f"{i}.png", i) for i in range(4)}
    hashes = HashCache(tmp_path / "hashes.sqlite3")
    read: list[Path] = []
    real = model_shipping.file_sha256
    monkeypatch.setattr(model_shipping, "file_sha256", lambda p: read.append(p) or real(p))

    def listed() -> set[str]:
        files = model_shipping.ModelShipper(hashes).files(training_over(folder))
        return {m.sha256 for _, m in files if m is not None}

    assert listed() == shas and len(read) == 4
    assert listed() == shas and len(read) == 4  # a new driver: every hash kept
    picture(folder / "0.png", 50)  # changed: hashed again, the others not
    os.utime(folder / "0.png", ns=(10**9, 10**9))  # a time of its own, however coarse
    now = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert now != shas and listed() == now and len(read) == 5


def test_an_empty_file_first_in_a_folder_is_sent_like_any_other(tmp_path, monkeypatch):
    """A 0-byte image first in a batch made the batching index an empty list
    (IndexError) and ended the run: it is sent, then skipped by the loader there as it
    is here."""
    from engine.cluster.data_files import IMAGE_TAG
    from engine.cluster.model_shipping import ModelShipper

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "0-empty.png").write_bytes(b"")
    shas = {hashlib.sha256(b"").hexdigest(), picture(folder / "1.png", 1)}
    shipper = ModelShipper()
    shipper._image_refs = lambda manifest, source: [source.read_bytes()]  # no object store
    images = [(k, m) for k, m in shipper.files(training_over(folder)) if k.startswith(IMAGE_TAG)]
    worker = receiving_worker("w", "node-1", tmp_path / "cache")
    placed = shipper.place_images(worker, images, "job")
    assert sorted(Path(p).read_bytes() for p in placed.values()) == [
        b"",
        (folder / "1.png").read_bytes(),
    ]
    assert {sha for _node, sha in shipper.sent} == shas
