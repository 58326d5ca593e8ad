"""Content hashes of model files, off the job path.

sha256 of a multi-GB checkpoint takes seconds, so hashes are computed on a background
thread and kept in a small SQLite cache in the user's cache folder, keyed by
(path, size, mtime): a file is hashed once, ever, until it changes. A job asks for the
hash when it starts (`request`) and collects it when it saves (`wait`), so hashing runs
alongside loading and generating; the GUI can `request` it as soon as a model is picked.

Single files get their sha256 (A1111's "Model hash" is its first 10 hex digits);
folders (diffusers models) get our own composite hash over their weight files.
Torch-free, so the GUI may use it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from engine.api.errors import JobCancelled

log = logging.getLogger(__name__)

APP_NAME = "Latent Studio"
CACHE_DIR_ENV = "LATENTSTUDIO_CACHE_DIR"  # tests and benchmarks point this at a temp dir
CHUNK_BYTES = 1 << 20
HASH_DB = "hashes.sqlite3"


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


class HashingCancelled(Exception):  # noqa: N818 - a signal
    pass


def file_sha256(path: Path, should_stop: Callable[[], bool] = lambda: False) -> str:
    """sha256 hex digest of a file, read in chunks (multi-GB files stay cheap on RAM)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            if should_stop():
                raise HashingCancelled(str(path))
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelHash:
    sha256: str
    kind: str  # "file": the file's sha256 (A1111 compatible); "folder": our composite

    @property
    def a1111_short(self) -> str | None:
        """A1111's "Model hash": the first 10 hex digits, for single files only."""
        return self.sha256[:10] if self.kind == "file" else None


class HashCache:
    """(path, size, mtime_ns) -> sha256 in SQLite; any trouble just means "not cached"."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def get(self, file: Path) -> str | None:
        key = _stat_key(file)
        if key is None or self.path is None:
            return None
        with self._connect() as conn:
            if conn is None:
                return None
            row = conn.execute(
                "SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ?", key
            ).fetchone()
            return row[0] if row else None

    def known(self, files: list[Path]) -> dict[Path, str]:
        """The cached sha256 of each file that has one, in one query per file on one
        connection (a library listing asks for hundreds at once)."""
        found: dict[Path, str] = {}
        keys = [(file, _stat_key(file)) for file in files]
        if self.path is None or not self.path.exists():
            return found
        with self._connect() as conn:
            if conn is None:
                return found
            for file, key in keys:
                if key is None:
                    continue
                row = conn.execute(
                    "SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ?", key
                ).fetchone()
                if row:
                    found[file] = row[0]
        return found

    def put(self, file: Path, sha256: str) -> None:
        self.put_many({file: sha256})

    def put_many(self, found: dict[Path, str]) -> None:
        """Keep each file's sha256, in one transaction (a folder of photos at once)."""
        rows = [(*key, sha) for file, sha in found.items() if (key := _stat_key(file))]
        if not rows or self.path is None:
            return
        with self._connect() as conn:
            if conn is not None:
                conn.executemany(
                    "INSERT OR REPLACE INTO hashes (path, size, mtime_ns, sha256) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )

    @contextlib.contextmanager
    def _connect(self):
        conn = None
        with self._lock:
            try:
                assert self.path is not None
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5.0)
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, "
                    "mtime_ns INTEGER, sha256 TEXT)"
                )
            except (OSError, sqlite3.Error) as exc:
                log.info("hash cache unavailable (%s); hashing without it", exc)
                if conn is not None:
                    conn.close()
                conn = None
            try:
                yield conn
                if conn is not None:
                    conn.commit()
            except sqlite3.Error as exc:
                log.info("hash cache write failed: %s", exc)
            finally:
                if conn is not None:
                    conn.close()


def _stat_key(file: Path) -> tuple[str, int, int] | None:
    try:
        path = Path(file).resolve()
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_size, stat.st_mtime_ns


class HashService:
    """Hashes on one background thread; results cached on disk and in memory."""

    def __init__(self, cache: HashCache | None = None) -> None:
        self.cache = cache if cache is not None else HashCache(default_cache_dir() / HASH_DB)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashing")
        self._futures: dict[tuple, Future[ModelHash]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.hashed: list[Path] = []  # files actually read (tests check the cache with it)

    def request(self, path: Path, files: Sequence[Path] | None = None) -> Future[ModelHash]:
        """Start hashing `path` (a file, or a folder whose weight `files` are given)."""
        path = Path(path)
        members = tuple(sorted(Path(f) for f in files)) if files is not None else None
        key = (str(path.resolve()), members, tuple(_stat_key(f) for f in (members or (path,))))
        with self._lock:
            future = self._futures.get(key)
            if future is None or future.cancelled():
                future = self._pool.submit(self._model_hash, path, members)
                self._futures[key] = future
            return future

    def wait(
        self,
        future: Future[ModelHash],
        cancelled: Callable[[], bool] = lambda: False,
        poll_s: float = 0.05,
    ) -> ModelHash:
        """The hash, waiting without ignoring the job's cancel."""
        while True:
            if cancelled():
                raise JobCancelled()
            try:
                return future.result(timeout=poll_s)
            except FutureTimeout:
                continue

    def close(self) -> None:
        """Stop hashing now (a file being read stops within a megabyte)."""
        self._closing.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ on the hashing thread

    def _model_hash(self, path: Path, files: tuple[Path, ...] | None) -> ModelHash:
        if files is None:
            return ModelHash(self._file_hash(path), "file")
        total = hashlib.sha256()
        for file in files:
            relative = file.relative_to(path).as_posix()
            total.update(relative.encode("utf-8") + b"\0" + self._file_hash(file).encode() + b"\n")
        return ModelHash(total.hexdigest(), "folder")

    def _file_hash(self, file: Path) -> str:
        cached = self.cache.get(file)
        if cached is not None:
            return cached
        sha = file_sha256(file, self._closing.is_set)
        self.hashed.append(file)
        self.cache.put(file, sha)
        return sha
