"""Models named by sha256: found on a worker, or sent to its node once and kept there.

The driver describes a model as a Manifest: its name, its sha256 (a file's own, or a
folder's over its files), and each file's relative path, size and sha256. A worker
looks for it in its cache folder and then in its own model folders, by name and
content (engine.cluster.model_store); what it lacks it receives through Ray's object
store and keeps in the cache, so a 2 GB checkpoint crosses the network once per node,
not once per job. Every file a request names travels so: its checkpoint, LoRAs, VAE,
embeddings, tiny VAE, control and IP-Adapter models (and the adapters' CLIP vision
encoder), the pictures it starts from (engine.cluster.request_files), and a training's
folder of images, each image a file of its own (engine.cluster.data_files), asked for
and sent in batches (`place_images`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from engine.cluster.data_files import IMAGE_TAG, data_entries, data_source, skipped_instead
from engine.cluster.ip_adapter_files import encoder_of
from engine.cluster.request_files import ENCODER_TAG, named_files
from engine.hashing import HASH_DB, HashCache, default_cache_dir, file_sha256

# A training's images are sent in calls of at most this many bytes (one image alone at
# least): few round trips, bounded memory on the worker, and a worker lost mid-transfer
# loses one call's (the images landed before stay in its node's cache).
BATCH_BYTES = 64 << 20
# A model's files travel in pieces of at most this many bytes, read, sent and written
# one at a time: a 6.9 GB SDXL checkpoint read whole held 6.9 GB in the driver's memory
# beside its copy in the object store, and as much again in the worker's.
CHUNK_BYTES = 64 << 20

T = TypeVar("T")


@dataclass(frozen=True)
class ManifestFile:
    path: str  # relative to the model ("" for a single-file model)
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a model is, whichever machine holds it."""

    name: str  # the file or folder name, suffix kept (formats are told by it)
    sha256: str
    files: tuple[ManifestFile, ...]

    @property
    def is_folder(self) -> bool:
        return any(f.path for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def members(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def manifest_of(path: Path, hashes: HashCache | None = None) -> Manifest:
    """The manifest of a model file or folder (hashes cached by path, size and mtime)."""
    path = Path(path)
    files = []
    for member in members(path):
        sha = hashes.get(member) if hashes is not None else None
        if sha is None:
            sha = file_sha256(member)
            if hashes is not None:
                hashes.put(member, sha)
        relative = member.relative_to(path).as_posix() if path.is_dir() else ""
        files.append(ManifestFile(relative, member.stat().st_size, sha))
    if not path.is_dir():
        return Manifest(path.name, files[0].sha256, tuple(files))
    total = hashlib.sha256()
    for f in files:
        total.update(f.path.encode("utf-8") + b"\0" + f.sha256.encode() + b"\n")
    return Manifest(path.name, total.hexdigest(), tuple(files))


# ---------------------------------------------------------------- the driver's side


class ModelShipper:
    """Puts each model a job needs where its worker can load it: found there, or sent.

    Each file enters the object store once (its ref kept here by sha256), and each node
    receives a model once: after one worker of a node has it in the node's cache, the
    others find it there.
    """

    def __init__(self, hashes: HashCache | None = None) -> None:
        # The app's hash cache by default: a file hashed once, not once per process
        self._hashes = hashes if hashes is not None else HashCache(default_cache_dir() / HASH_DB)
        self._manifests: dict[tuple, Manifest] = {}
        self._refs: dict[str, list[object]] = {}  # a file's sha256 -> its pieces
        self._locks: dict[str, threading.Lock] = {}
        # (worker, sha256, name) -> its path there
        self._placed: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()
        self.sent: list[tuple[str, str]] = []  # (node, sha256) of each model sent

    def files(self, request: object) -> list[tuple[str, Manifest | None]]:
        """Each file the request names (engine.cluster.request_files) that is here, as
        the request spells it and its manifest. One that is not here is left to the
        worker, which says so in the sentence a local job would. A training's folder of
        images adds its files (engine.cluster.data_files), each under its tagged key; a
        None manifest is a key with no bytes to send (an empty stand-in there)."""
        found = []
        for text in named_files(request):
            manifest = self._manifest_at(Path(text).expanduser())
            if manifest is not None:
                found.append((text, manifest))
        encoder = encoder_of(request)  # an IP-Adapter's, which the request does not name
        manifest = self._manifest_at(encoder) if encoder is not None else None
        if manifest is not None:
            found.append((ENCODER_TAG + str(encoder), manifest))
        return found + self._data_files(request)

    def _data_files(self, request: object) -> list[tuple[str, Manifest | None]]:
        found: list[tuple[str, Manifest | None]] = []
        entries = data_entries(request)
        manifests = self._image_manifests([path for _, path in entries if path is not None])
        for key, path in entries:
            # None: unreadable here, an empty stand-in there, which the loader skips
            manifest = manifests.get(path) if path is not None else None
            if manifest is None and key.startswith(IMAGE_TAG):
                key = skipped_instead(key)
            found.append((key, manifest))
        return found

    def _image_manifests(self, paths: list[Path]) -> dict[Path, Manifest]:
        """Each readable image's manifest: known in this process, else its sha256 from
        the hash cache (one connection for the folder), else hashed and kept there, so
        a folder is hashed once, not once per run (5,000 photos of 4 MB: about 20 s)."""
        keys: dict[Path, tuple] = {}
        for path in paths:
            with contextlib.suppress(OSError):
                stat = path.stat()
                keys[path] = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            manifests = {p: self._manifests[k] for p, k in keys.items() if k in self._manifests}
        unknown = [path for path in keys if path not in manifests]
        shas = self._hashes.known(unknown)
        hashed = {}
        for path in unknown:
            if path not in shas:
                with contextlib.suppress(OSError):
                    hashed[path] = file_sha256(path)
        self._hashes.put_many(hashed)
        with self._lock:
            for path, sha in (shas | hashed).items():
                files = (ManifestFile("", keys[path][1], sha),)
                manifests[path] = self._manifests[keys[path]] = Manifest(path.name, sha, files)
        return manifests

    def _manifest_at(self, path: Path) -> Manifest | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._manifests.get(key)
        if known is None:
            known = manifest_of(path, self._hashes)
            with self._lock:
                self._manifests[key] = known
        return known

    def place(self, worker, manifest: Manifest, source: Path, job_key: str = "") -> str:
        """Where `worker` (a pool.RemoteWorker) holds the model: found, or sent now (and
        kept there for job `job_key` until it ends)."""
        with self._lock:
            lock = self._locks.setdefault(manifest.sha256, threading.Lock())
        with self._lock:
            known = self._placed.get((worker.name, manifest.sha256, manifest.name))
        if known is not None:  # asked before: no round trip per job
            return known
        with lock:  # two workers of one node asking at once: one sends, one finds
            found = self._remember(worker, manifest, worker.find_model(manifest, job_key))
            if found is not None:
                return found
            placed = worker.receive_model(manifest, self._chunk_refs(manifest, source), job_key)
            with self._lock:
                self.sent.append((worker.node_id, manifest.sha256))
            return self._remember(worker, manifest, placed)

    def place_images(
        self, worker, images: list[tuple[str, Manifest]], job_key: str = ""
    ) -> dict[str, str]:
        """`place` for a training's images (their keys: engine.cluster.data_files): the
        worker asked in one call which it holds, in its cache only, and the others sent
        in calls of at most BATCH_BYTES; one call at a time per node, so each image is
        sent to a node once. (One round trip per image, and a search of the worker's
        model folders by its name, made a folder of 500 small images cost 33 ms an image.)"""
        with self._lock:
            placed = {t: self._placed.get((worker.name, m.sha256, m.name)) for t, m in images}
            node = self._locks.setdefault(f"node:{worker.node_id or worker.name}", threading.Lock())
        asked = [(text, m) for text, m in images if placed[text] is None]
        if not asked:
            return placed  # type: ignore[return-value] - every one known
        with node:
            found = worker.find_files([m for _, m in asked], job_key)
            missing = []
            for (text, manifest), where in zip(asked, found, strict=True):
                if where is None:
                    missing.append((text, manifest))
                else:
                    placed[text] = self._remember(worker, manifest, where)
            for batch in in_batches(missing, lambda item: item[1].size, BATCH_BYTES):
                refs = [self._image_refs(m, Path(data_source(t) or t)) for t, m in batch]
                paths = worker.receive_files([m for _, m in batch], refs, job_key)
                with self._lock:
                    self.sent.extend(dict.fromkeys((worker.node_id, m.sha256) for _, m in batch))
                for (text, manifest), where in zip(batch, paths, strict=True):
                    placed[text] = self._remember(worker, manifest, where)
        return placed  # type: ignore[return-value] - every one found or sent

    def _remember(self, worker, manifest: Manifest, path: str | None) -> str | None:
        if path is not None:
            with self._lock:
                self._placed[(worker.name, manifest.sha256, manifest.name)] = path
        return path

    def forget(self, worker, shas: list[str]) -> None:
        """The worker no longer holds these (its cache made room): ask it again."""
        with self._lock:
            for key in [k for k in self._placed if k[0] == worker.name and k[1] in shas]:
                del self._placed[key]

    def _chunk_refs(self, manifest: Manifest, source: Path) -> list[list[object]]:
        """Each of the model's files as the object refs of its pieces (CHUNK_BYTES each),
        kept by the file's sha256 for the next node: read once per session."""
        import ray

        pieces = []
        for f in manifest.files:
            with self._lock:
                refs = self._refs.get(f.sha256)
            if refs is None:
                refs = []
                with (source / f.path if f.path else source).open("rb") as handle:
                    while chunk := handle.read(CHUNK_BYTES):
                        refs.append(ray.put(chunk))
                with self._lock:
                    self._refs[f.sha256] = refs
            pieces.append(refs)
        return pieces

    def _image_refs(self, manifest: Manifest, source: Path) -> list[object]:
        """A training's image, whole (small, and sent in batches), and not kept: a
        folder of 5,000 photos would stay pinned in the object store, spilling to disk,
        all session; each is read again for the next node instead."""
        import ray

        files = [source / f.path if f.path else source for f in manifest.files]
        return [ray.put(path.read_bytes()) for path in files]


def in_batches(items: list[T], size_of: Callable[[T], int], limit: int) -> Iterator[list[T]]:
    """The items in order, in batches of at most `limit` bytes (one item alone at least,
    an empty one too)."""
    batch: list[T] = []
    size = 0
    for item in items:
        if batch and size + size_of(item) > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += size_of(item)
    if batch:
        yield batch
