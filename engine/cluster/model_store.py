"""A worker's models: its cache folder (kept under a size limit) and its own model folders.

A file the driver sends is kept at `<cache>/cluster-models/<sha256>/<name>`, complete
once its marker is written; the marker's time is when a job last found or used it (the
LRU order, shared by the actors of a node through the folder). Before a file lands, the
least recently used files leave until it fits (engine.cluster.cache_limit); a file a
running job uses is never taken: each process using an entry keeps an `.in-use-<pid>`
marker in it while its jobs run (a dead process's marker counts for nothing). Two actors
on one node share the folder: each writes a private copy and renames it into place, and
the first rename wins; an entry leaves by a rename too, so no job sees half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from engine.api.errors import BadInput
from engine.cluster.cache_limit import LIMIT_ENV, CacheEntry, check_fits, limit_bytes, to_evict
from engine.cluster.incoming_files import (
    COMPLETE_MARKER,
    check_bytes,
    check_names,
    write_staged,
)
from engine.cluster.model_shipping import Manifest, in_batches, manifest_of, members
from engine.hashing import CACHE_DIR_ENV, HashCache, default_cache_dir
from engine.store.errors import FULL_DISK_ERRORS, reason

IN_USE_PREFIX = ".in-use-"
CACHE_SUBFOLDER = "cluster-models"


class ModelStore:
    def __init__(
        self,
        cache_root: Path | None = None,
        model_dirs: tuple[Path, ...] = (),
        limit_gb: float | None = None,
    ) -> None:
        self.cache_root = Path(cache_root or default_cache_dir()) / CACHE_SUBFOLDER
        self.model_dirs = tuple(Path(d) for d in model_dirs)
        self.limit = limit_bytes(limit_gb)
        self._hashes = HashCache(self.cache_root.parent / "cluster-hashes.sqlite3")
        self._lock = threading.Lock()
        self._holds: dict[str, int] = {}  # sha256 -> jobs of this process using it
        self._arriving = 0  # bytes of the models being written here now (room kept)
        self.received: list[str] = []  # sha256 of each model written here (tests count it)
        self.evicted: list[str] = []  # sha256 of each model removed to make room

    def cached_path(self, manifest: Manifest) -> Path:
        return self.cache_root / manifest.sha256 / manifest.name

    # ------------------------------------------------------------ finding

    def find(self, manifest: Manifest) -> Path | None:
        """Where this worker holds the model, or None (then it may be sent: a file larger
        than the cache may hold is refused here, before it travels)."""
        if (cached := self._in_cache(manifest)) is not None:
            return cached
        for folder in self.model_dirs:
            for candidate in folder.rglob(manifest.name):
                if self._matches(candidate, manifest):
                    return candidate
        check_fits(manifest.name, manifest.size, self.limit)
        return None

    def find_cached(self, manifest: Manifest) -> Path | None:
        """`find` in the cache only: a training's image is found by its sha256, never
        searched for by its name in the model folders (a folder of 5,000 photos would
        walk them 5,000 times)."""
        if (cached := self._in_cache(manifest)) is not None:
            return cached
        check_fits(manifest.name, manifest.size, self.limit)
        return None

    def _in_cache(self, manifest: Manifest) -> Path | None:
        check_names(manifest)  # its names make the path looked at: plain ones only
        if self._complete(manifest.sha256) and self._named(manifest):
            self._touch(manifest.sha256)
            return self.cached_path(manifest)
        return None

    def _matches(self, candidate: Path, manifest: Manifest) -> bool:
        """Same files, same sizes, then same contents (sizes first: most differ there)."""
        try:
            found = members(candidate)
            if len(found) != len(manifest.files):
                return False
            if any(m.stat().st_size != f.size for m, f in zip(found, manifest.files, strict=True)):
                return False
            return manifest_of(candidate, self._hashes).sha256 == manifest.sha256
        except OSError:
            return False

    def _named(self, manifest: Manifest) -> bool:
        """The cached model under this name too: the same bytes under another name (a
        LoRA copied and renamed: its name is its prompt tag) are linked, not sent."""
        wanted = self.cached_path(manifest)
        if wanted.exists():
            return True
        folder = wanted.parent
        with contextlib.suppress(OSError), self._lock:
            have = next((p for p in folder.iterdir() if not p.name.startswith(".")), None)
            if have is None:
                return False
            if have.is_dir():
                shutil.copytree(have, wanted, copy_function=_link_or_copy)
            else:
                _link_or_copy(have, wanted)
            return True
        return False

    def _complete(self, key: str) -> bool:
        return (self.cache_root / key / COMPLETE_MARKER).exists()

    def _touch(self, key: str) -> None:
        now = time.time_ns()  # explicit: a file system's own clock may tick coarsely
        with contextlib.suppress(OSError):  # evicted meanwhile: the job's check says so
            os.utime(self.cache_root / key / COMPLETE_MARKER, ns=(now, now))

    # ------------------------------------------------------------ receiving

    def receive(self, manifest: Manifest, contents: list[bytes]) -> Path:
        """Keep the model whose files' bytes are `contents` (in manifest order)."""
        return self.receive_all([(manifest, contents)])[0]

    def receive_streamed(self, manifest: Manifest, files: Sequence[Iterable[bytes]]) -> Path:
        """Keep a model whose files arrive in pieces (`files`: each file's pieces, in
        manifest order), each written as it comes: one piece in memory, not the model.
        Room is made first; each file's sha256 is checked as it ends, and nothing of a
        damaged copy stays. The pieces are taken outside the lock: a transfer of minutes
        must not hold up this worker's other jobs."""
        check_names(manifest)
        with self._lock:
            arriving = not self._complete(manifest.sha256)
            if arriving:
                self._make_room([manifest])
                self._arriving += manifest.size
        if arriving:
            try:
                staging = self._stage(manifest, files, verify=True)
                with self._lock:
                    self._commit(staging, manifest)
            finally:
                with self._lock:
                    self._arriving -= manifest.size
        self._named(manifest)  # and under this name (linked)
        self._touch(manifest.sha256)
        return self.cached_path(manifest)

    def receive_all(
        self,
        items: list[tuple[Manifest, list[bytes]]],
        keep: Callable[[Path], None] | None = None,
    ) -> list[Path]:
        """`receive` for many files (a training's images): every name and every file's
        bytes checked before any is written, and the cache scanned for room once per
        group that fits under its limit, not once per file (a scan per file made a
        folder's N images cost N scans of a growing cache). `keep` is told each path as
        its group lands (the worker reserves it for its job before the next makes room)."""
        for manifest, contents in items:
            check_bytes(manifest, contents)
        paths: list[Path] = []
        for group in in_batches(items, lambda item: item[0].size, self.limit):
            with self._lock:  # the same bytes twice in a group: written once
                arriving = {m.sha256: (m, c) for m, c in group if not self._complete(m.sha256)}
                if arriving:
                    self._make_room([m for m, _ in arriving.values()])
                for manifest, contents in arriving.values():
                    pieces = [[data] for data in contents]
                    self._commit(self._stage(manifest, pieces, verify=False), manifest)
            for manifest, _ in group:
                self._named(manifest)  # and under each of its names (linked)
                self._touch(manifest.sha256)
                paths.append(self.cached_path(manifest))
                if keep is not None:
                    keep(paths[-1])
        return paths

    def _make_room(self, arriving: list[Manifest]) -> None:
        """Evict the least recently used entries so that `arriving`, beside the models
        still being written here, fits (or BadInput)."""
        self.cache_root.mkdir(parents=True, exist_ok=True)
        size = sum(m.size for m in arriving)
        name = arriving[0].name
        if len(arriving) > 1:
            name = f"{len(arriving)} files ({name} and others)"
        entries = self.entries()
        if self._arriving:  # still being written for jobs: counted as in use
            entries.append(CacheEntry(".arriving", self._arriving, 0, True))
        for entry in to_evict(entries, name, size, self.limit):
            self._evict(entry.key)

    def _stage(self, manifest: Manifest, files: Sequence[Iterable[bytes]], verify: bool) -> Path:
        """The model written into a private folder of the cache (removed if anything
        fails, a damaged file included)."""
        staging = None
        try:
            self.cache_root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.cache_root))
            write_staged(staging, manifest, files, verify)
        except BaseException as exc:  # Ctrl-C and a lost connection too: no half copy stays
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise self._not_written(manifest, exc) from exc
            raise
        return staging

    def _not_written(self, manifest: Manifest, exc: OSError) -> BadInput:
        if exc.errno in FULL_DISK_ERRORS:
            advice = (
                f"Free space on that node, or lower {LIMIT_ENV} there so that the cache "
                "keeps to the room the disk has"
            )
        else:
            advice = f"Check that folder on that node, or set {CACHE_DIR_ENV} there"
        return BadInput(
            f"{manifest.name} could not be written to this worker's model cache "
            f"({self.cache_root}): {reason(exc)}. {advice}; nothing of it was kept."
        )

    def _commit(self, staging: Path, manifest: Manifest) -> None:
        """Rename a staged model into place (under the lock, room made for it)."""
        final = self.cache_root / manifest.sha256
        try:
            shutil.rmtree(final, ignore_errors=True)  # a copy left half-written
            os.replace(staging, final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not self._complete(manifest.sha256):
                raise
        self.received.append(manifest.sha256)

    # ------------------------------------------------------------ the limit

    def entries(self) -> list[CacheEntry]:
        """The complete models in the cache, with their sizes, last use and use now."""
        found = []
        folders = sorted(self.cache_root.iterdir()) if self.cache_root.is_dir() else []
        for folder in folders:
            marker = folder / COMPLETE_MARKER
            if folder.name.startswith(".") or not marker.exists():
                continue  # a copy still arriving or leaving
            try:
                size = sum(
                    p.stat().st_size
                    for p in folder.rglob("*")
                    if p.is_file() and not (p.parent == folder and p.name.startswith("."))
                )
                used = marker.stat().st_mtime_ns
            except OSError:
                continue
            found.append(CacheEntry(folder.name, size, used, self._in_use(folder)))
        return found

    def _evict(self, key: str) -> None:
        doomed = self.cache_root / f".evicting-{key}-{uuid.uuid4().hex}"
        try:
            os.replace(self.cache_root / key, doomed)  # gone at once for every reader
        except OSError:
            return  # another actor of the node took it first
        shutil.rmtree(doomed, ignore_errors=True)
        self.evicted.append(key)

    def _in_use(self, folder: Path) -> bool:
        for marker in folder.glob(IN_USE_PREFIX + "*"):
            try:
                pid = int(marker.name[len(IN_USE_PREFIX) :])
            except ValueError:
                continue
            if pid == os.getpid():
                if self._holds.get(folder.name):
                    return True
            elif _alive(pid):
                return True
        return False

    @contextlib.contextmanager
    def holding(self, paths: Iterable[str]) -> Iterator[list[str]]:
        """Keep the cache entries of `paths` from eviction while the block runs; yields
        the paths that are no longer there (evicted since they were placed)."""
        paths = list(paths)
        keys = [key for key in dict.fromkeys(self.key_of(p) for p in paths) if key]
        for key in keys:
            self.hold(key)
        try:
            yield [p for p in paths if not Path(p).exists() or not self._complete_for(p)]
        finally:
            for key in keys:
                self.release(key)

    def key_of(self, path: str) -> str | None:
        try:
            parts = Path(path).relative_to(self.cache_root).parts
        except ValueError:
            return None  # in the worker's own model folders: not the cache's to remove
        return parts[0] if parts else None

    def _complete_for(self, path: str) -> bool:
        key = self.key_of(path)
        return key is None or self._complete(key)

    def hold(self, key: str) -> None:
        with self._lock:
            count = self._holds.get(key, 0)
            self._holds[key] = count + 1
            if count == 0:
                with contextlib.suppress(OSError):  # gone: `holding` says so
                    (self.cache_root / key / f"{IN_USE_PREFIX}{os.getpid()}").touch()
        self._touch(key)

    def release(self, key: str) -> None:
        with self._lock:
            count = self._holds.get(key, 1) - 1
            if count > 0:
                self._holds[key] = count
                return
            self._holds.pop(key, None)
            with contextlib.suppress(OSError):
                (self.cache_root / key / f"{IN_USE_PREFIX}{os.getpid()}").unlink()


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end it there: count it in use
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
