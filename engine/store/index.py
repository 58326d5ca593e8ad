"""A SQLite index of the gallery, for fast newest-first listing.

The PNGs are the truth; this is a cache that `rebuild` can recreate from them at any
time. WAL mode lets the GUI thread list while the worker thread saves; each thread gets
its own connection (sqlite3 connections must not be shared across threads).
Paths are stored relative to the gallery root, so moving the whole folder keeps them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.store.metadata import ImageMetadata, read_metadata

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
_INT64 = range(-(2**63), 2**63)

_SCHEMA = """
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    negative_prompt TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    seed INTEGER,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    recipe TEXT
);
CREATE INDEX images_newest ON images (created DESC, path DESC);
"""
_COLUMNS = "path, created, kind, prompt, negative_prompt, model, seed, width, height, recipe"
_INSERT = f"INSERT OR REPLACE INTO images ({_COLUMNS}) VALUES ({', '.join('?' * 10)})"


class OpenState(enum.Enum):
    OK = "ok"  # the file was there and sound
    NEW = "new"  # there was no index file: it is empty until rebuilt
    DAMAGED = "damaged"  # the file was not a sound database; it was set aside, now empty
    OUTDATED = "outdated"  # another schema version; it was dropped, now empty


@dataclass(frozen=True)
class IndexRecord:
    path: str  # relative to the gallery root, '/'-separated
    created: float  # seconds since the epoch
    kind: str
    prompt: str
    negative_prompt: str
    model: str
    seed: int | None
    width: int
    height: int
    recipe: str | None  # the JSON recipe, None for other tools' images


def record_for(meta: ImageMetadata, relative: str) -> IndexRecord:
    """The index row of an image; `created` falls back to the file's mtime."""
    created = meta.created.timestamp() if meta.created else meta.path.stat().st_mtime
    return IndexRecord(
        path=relative,
        created=created,
        kind=meta.kind,
        prompt=meta.prompt,
        negative_prompt=meta.negative_prompt,
        model=meta.model,
        seed=meta.seed if meta.seed in _INT64 else None,
        width=meta.width,
        height=meta.height,
        recipe=json.dumps(meta.recipe) if meta.recipe is not None else None,
    )


def relative_key(root: Path, path: Path) -> str:
    """The index key of `path`; ValueError if it is not inside `root`."""
    return PurePosixPath(Path(path).relative_to(root)).as_posix()


def scan_pngs(root: Path) -> Iterator[Path]:
    """Every visible PNG under `root`; hidden files (temp files, the index) are skipped."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(".png") and not name.startswith("."):
                yield Path(folder) / name


class GalleryIndex:
    """One SQLite file; safe to use from several threads at once."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.state = self._open()

    # ------------------------------------------------------------ queries

    def add(self, record: IndexRecord) -> None:
        with self._transaction() as conn:
            conn.execute(_INSERT, _row(record))

    def remove(self, path: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM images WHERE path = ?", (path,))

    def get(self, path: str) -> IndexRecord | None:
        row = (
            self._conn()
            .execute(f"SELECT {_COLUMNS} FROM images WHERE path = ?", (path,))
            .fetchone()
        )
        return IndexRecord(*row) if row else None

    def newest(self, limit: int | None = None, offset: int = 0) -> list[IndexRecord]:
        rows = self._conn().execute(
            f"SELECT {_COLUMNS} FROM images ORDER BY created DESC, path DESC LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset),
        )
        return [IndexRecord(*row) for row in rows]

    def count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def rebuild(self, root: Path) -> int:
        """Re-read every PNG under `root` and make the index match; returns their count.

        The files are read before the write transaction, so listing is never blocked
        for long. A row whose file is still on disk but was not scanned (a save that
        landed meanwhile) is kept; rows whose file is gone are dropped.
        """
        root = Path(root)
        records = [r for r in (_read_record(root, p) for p in scan_pngs(root)) if r]
        scanned = {r.path for r in records}
        with self._transaction() as conn:
            known = [row[0] for row in conn.execute("SELECT path FROM images")]
            gone = [(p,) for p in known if p not in scanned and not (root / p).exists()]
            conn.executemany("DELETE FROM images WHERE path = ?", gone)
            conn.executemany(_INSERT, [_row(r) for r in records])
        return len(records)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
            self._local = threading.local()

    # ------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves, so a read never holds a lock.
        # check_same_thread=False only so close() can close every thread's connection.
        conn = sqlite3.connect(
            self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        # The index is rebuildable, so losing the last commits in a power cut is fine.
        conn.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ------------------------------------------------------------ opening

    def _open(self) -> OpenState:
        if not _has_content(self.db_path):
            self._discard()  # a stale -wal beside a missing file could be replayed into it
            self._create()
            return OpenState.NEW
        try:
            version = self._check()
        except sqlite3.DatabaseError as exc:
            log.warning("gallery index %s is damaged (%s); rebuilding", self.db_path, exc)
            self._set_aside()
            self._create()
            return OpenState.DAMAGED
        if version != SCHEMA_VERSION:
            self._discard()
            self._create()
            return OpenState.OUTDATED
        return OpenState.OK

    def _check(self) -> int:
        """The schema version of a sound file; sqlite3.DatabaseError for a damaged one."""
        conn = self._conn()
        result = conn.execute("PRAGMA quick_check").fetchone()
        if not result or result[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {result}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            conn.execute(f"SELECT {_COLUMNS} FROM images LIMIT 1").fetchall()
        return version

    def _create(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        with self._transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _set_aside(self) -> None:
        """Keep one damaged copy for a bug report; its -wal/-shm must not survive."""
        self.close()
        aside = self.db_path.with_name(self.db_path.name + ".damaged")
        with contextlib.suppress(OSError):
            os.replace(self.db_path, aside)
        self._discard()

    def _discard(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.db_path}{suffix}")


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _row(record: IndexRecord) -> tuple:
    return dataclasses.astuple(record)  # the field order is _COLUMNS' order


def _read_record(root: Path, path: Path) -> IndexRecord | None:
    try:
        return record_for(read_metadata(path), relative_key(root, path))
    except (OSError, ValueError) as exc:
        # One unreadable file (half-copied, not really a PNG) must not stop the rest.
        log.info("skipping %s in the gallery index: %s", path, exc)
        return None
