"""Models named by sha256: found on a worker, or sent to its node once and kept there.

The driver describes a model as a Manifest: its name, its sha256 (a file's own, or a
folder's over its files), and each file's relative path, size and sha256. A worker
looks for it in its cache folder (`<cache>/models/<sha256>/<name>`, complete once its
marker is written) and then in its own model folders, by name and content; what it
lacks it receives through Ray's object store and keeps in the cache, so a 2 GB
checkpoint crosses the network once per node, not once per job. Two actors on one
node share the cache folder: each writes a private copy and renames it into place, and
the first rename wins.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.api.errors import BadModelFile
from engine.hashing import HashCache, default_cache_dir, file_sha256

COMPLETE_MARKER = ".complete"
CACHE_SUBFOLDER = "cluster-models"


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


def _members(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def manifest_of(path: Path, hashes: HashCache | None = None) -> Manifest:
    """The manifest of a model file or folder (hashes cached by path, size and mtime)."""
    path = Path(path)
    files = []
    for member in _members(path):
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


class ModelStore:
    """A worker's models: its cache folder and its own model folders."""

    def __init__(self, cache_root: Path | None = None, model_dirs: tuple[Path, ...] = ()) -> None:
        self.cache_root = Path(cache_root or default_cache_dir()) / CACHE_SUBFOLDER
        self.model_dirs = tuple(Path(d) for d in model_dirs)
        self._hashes = HashCache(self.cache_root.parent / "cluster-hashes.sqlite3")
        self._lock = threading.Lock()
        self.received: list[str] = []  # sha256 of each model written here (tests count it)

    def cached_path(self, manifest: Manifest) -> Path:
        return self.cache_root / manifest.sha256 / manifest.name

    def find(self, manifest: Manifest) -> Path | None:
        """Where this worker holds the model, or None."""
        cached = self.cached_path(manifest)
        if (cached.parent / COMPLETE_MARKER).exists():
            return cached
        for folder in self.model_dirs:
            for candidate in folder.rglob(manifest.name):
                if self._matches(candidate, manifest):
                    return candidate
        return None

    def _matches(self, candidate: Path, manifest: Manifest) -> bool:
        """Same files, same sizes, then same contents (sizes first: most differ there)."""
        try:
            members = _members(candidate)
            if len(members) != len(manifest.files):
                return False
            if any(
                m.stat().st_size != f.size for m, f in zip(members, manifest.files, strict=True)
            ):
                return False
            return manifest_of(candidate, self._hashes).sha256 == manifest.sha256
        except OSError:
            return False

    def receive(self, manifest: Manifest, contents: list[bytes]) -> Path:
        """Keep the model whose files' bytes are `contents` (in manifest order)."""
        for f, data in zip(manifest.files, contents, strict=True):
            if hashlib.sha256(data).hexdigest() != f.sha256:
                raise BadModelFile(
                    f"The copy of {manifest.name} that reached this worker is damaged "
                    f"({f.path or 'the file'} differs from the original). Run the job again."
                )
        final = self.cache_root / manifest.sha256
        with self._lock:
            if (final / COMPLETE_MARKER).exists():
                return self.cached_path(manifest)
            self.cache_root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.cache_root))
            try:
                self._write(staging, manifest, contents)
                shutil.rmtree(final, ignore_errors=True)  # a copy left half-written
                os.replace(staging, final)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
                if not (final / COMPLETE_MARKER).exists():
                    raise
            self.received.append(manifest.sha256)
        return self.cached_path(manifest)

    @staticmethod
    def _write(staging: Path, manifest: Manifest, contents: list[bytes]) -> None:
        root = staging / manifest.name
        for f, data in zip(manifest.files, contents, strict=True):
            target = root / f.path if f.path else root
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (staging / COMPLETE_MARKER).write_text(manifest.sha256)


# ---------------------------------------------------------------- the driver's side


class ModelShipper:
    """Puts each model a job needs where its worker can load it: found there, or sent.

    Each file enters the object store once (its ref kept here by sha256), and each node
    receives a model once: after one worker of a node has it in the node's cache, the
    others find it there.
    """

    def __init__(self, hashes: HashCache | None = None) -> None:
        self._hashes = hashes if hashes is not None else HashCache(None)
        self._manifests: dict[tuple, Manifest] = {}
        self._refs: dict[str, object] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._placed: dict[tuple[str, str], str] = {}  # (worker, sha256) -> its path there
        self._lock = threading.Lock()
        self.sent: list[tuple[str, str]] = []  # (node, sha256) of each model sent

    def manifest(self, request: object) -> Manifest | None:
        """The manifest of the request's model when it is a file or folder here (a
        bundled model is on every node with the app's package)."""
        from engine.api.catalogue import bundled_path
        from engine.api.parts import ModelRef

        model = getattr(request, "model", None)
        if not isinstance(model, ModelRef) or bundled_path(model.id) is not None:
            return None
        path = Path(model.id).expanduser()
        if not path.exists():
            return None  # the worker says so, in the sentence a local job would
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

    def place(self, worker, manifest: Manifest, source: Path) -> str:
        """Where `worker` (a pool.RemoteWorker) holds the model: found, or sent now."""
        with self._lock:
            lock = self._locks.setdefault(manifest.sha256, threading.Lock())
        with self._lock:
            known = self._placed.get((worker.name, manifest.sha256))
        if known is not None:  # asked before: no round trip per job
            return known
        with lock:  # two workers of one node asking at once: one sends, one finds
            found = self._remember(worker, manifest, worker.find_model(manifest))
            if found is not None:
                return found
            placed = worker.receive_model(manifest, self._file_refs(manifest, source))
            with self._lock:
                self.sent.append((worker.node_id, manifest.sha256))
            return self._remember(worker, manifest, placed)

    def _remember(self, worker, manifest: Manifest, path: str | None) -> str | None:
        if path is not None:
            with self._lock:
                self._placed[(worker.name, manifest.sha256)] = path
        return path

    def _file_refs(self, manifest: Manifest, source: Path) -> list[object]:
        import ray

        refs = []
        for f in manifest.files:
            with self._lock:
                ref = self._refs.get(f.sha256)
            if ref is None:
                ref = ray.put((source / f.path if f.path else source).read_bytes())
                with self._lock:
                    self._refs[f.sha256] = ref
            refs.append(ref)
        return refs
