"""A SQLite index of the gallery, for fast newest-first listing.

The PNGs are the truth; this is a cache that `reconcile` brings in line with the folder
at every open, and `rebuild` recreates from nothing. WAL mode lets the GUI thread list
while a lane saves; each thread gets its own connection (sqlite3 connections must not be
shared across threads). Paths are stored relative to the gallery root, so moving the
whole folder keeps them; a row whose path would lead outside the root is never used.

Opening tells apart what happened to the file:
- damaged (not a database, failed integrity check): set aside as `.damaged`, rebuilt;
- another program's database at our path: set aside under a new name, never deleted;
- our own older schema: replaced (schema 3 only gains the lineage table, in place);
- a full disk, an I/O error, a read-only file: the index is kept as it is and
  `IndexUnavailable` says which, in words a user can act on.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.store import index_file, lineage
from engine.store import index_library as library
from engine.store.index_file import IndexUnavailable, OpenState, trouble
from engine.store.index_rows import (
    IMAGE_COLUMNS,
    IndexRecord,
    as_row,
    is_outside_key,
    is_safe_key,
    read_record,
    relative_key,
    scan_pngs,
)
from engine.store.index_schema import SCHEMA_VERSION
from engine.store.marks import Marks
from engine.store.query import Query

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
BATCH = 500  # rows read per transaction while reconciling (progress, short write locks)

_COLUMNS = IMAGE_COLUMNS
_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in IMAGE_COLUMNS.split(", ")[1:])
# An upsert, not INSERT OR REPLACE: a replace's delete would not fire the FTS trigger.
_INSERT = (
    f"INSERT INTO images ({_COLUMNS}) VALUES ({', '.join('?' * len(_COLUMNS.split(', ')))}) "
    f"ON CONFLICT (path) DO UPDATE SET {_UPDATES}"
)

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Reconciled:
    added: int  # files that were on disk and not in the index
    removed: int  # rows whose file was gone (or whose path was not a safe one)
    total: int  # images listed afterwards


class GalleryIndex:
    """One SQLite file; safe to use from several threads at once."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.set_aside: Path | None = None  # where a damaged or foreign file was moved
        self.state = self._open()

    # ------------------------------------------------------------ queries

    def add(self, record: IndexRecord) -> None:
        self.add_many([record])

    def add_many(self, records: list[IndexRecord]) -> None:
        """Rows (with their marks) in one transaction, as reconcile writes each batch."""
        with self._transaction() as conn:
            _insert(conn, records)

    def remove(self, path: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM images WHERE path = ?", (path,))
            library.forget_marks(conn, [path])

    def set_marks(self, key: str, marks: Marks) -> None:
        """A picture's stars and boards (`key` absolute for one outside the root)."""
        with self._transaction() as conn:
            library.set_marks(conn, key, marks)

    def marks(self, key: str) -> Marks:
        return library.get_marks(self._conn(), key)

    def boards(self) -> list[str]:
        return library.board_names(self._conn())

    def search(self, query: Query, limit: int | None = None, offset: int = 0) -> list[IndexRecord]:
        return library.search(self._conn(), query, limit, offset)

    def position(self, query: Query, key: str) -> int | None:
        return library.position(self._conn(), query, key)

    def count_matches(self, query: Query) -> int:
        return library.count_matches(self._conn(), query)

    def parents(self, key: str) -> list[tuple[str, str, str]]:
        """(parent key or absolute path, recorded sha256, role) of the picture `key`."""
        return lineage.parents_of(self._conn(), key)

    def children(self, key: str, sha256: str = "") -> list[tuple[str, str, str]]:
        """(child key, recorded sha256, role) of the pictures made from `key` (or from a
        file whose content was `sha256`, wherever it was then)."""
        return lineage.children_of(self._conn(), key, sha256)

    def get(self, path: str) -> IndexRecord | None:
        row = (
            self._conn()
            .execute(f"SELECT {_COLUMNS} FROM images WHERE path = ?", (path,))
            .fetchone()
        )
        return IndexRecord(*row) if row else None  # marks: see marks()

    def newest(self, limit: int | None = None, offset: int = 0) -> list[IndexRecord]:
        rows = self._conn().execute(
            f"SELECT {_COLUMNS} FROM images ORDER BY created DESC, path DESC LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset),
        )
        return [IndexRecord(*row) for row in rows]

    def count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def paths(self) -> list[str]:
        return [row[0] for row in self._conn().execute("SELECT path FROM images ORDER BY path")]

    def outside_paths(self) -> list[str]:
        """The keys of pictures outside the root (source folders'), which `reconcile`
        leaves to engine.store.source_folders."""
        return [p for p in self.paths() if is_outside_key(p)]

    def drop(self, keys: list[str], forget_marks: list[str]) -> None:
        """Rows that leave the listing; only the marks of `forget_marks` go with them."""
        with self._transaction() as conn:
            conn.executemany("DELETE FROM images WHERE path = ?", [(k,) for k in keys])
            library.forget_marks(conn, forget_marks)

    # ------------------------------------------------------------ bringing in line with disk

    def difference(self, root: Path) -> tuple[list[str], list[str]]:
        """(on disk but not indexed, indexed but not on disk or unsafe), each sorted.
        Source folders' rows (absolute keys) are not the output folder's: left alone."""
        on_disk = {relative_key(root, p) for p in scan_pngs(root)}
        indexed = set(self.paths())
        missing = sorted(on_disk - indexed)
        extra = sorted(
            p for p in indexed if not is_outside_key(p) and (p not in on_disk or not is_safe_key(p))
        )
        return missing, extra

    def reconcile(
        self,
        root: Path,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Reconciled:
        """Add the files the index lacks and drop the rows whose file is gone.

        Cheap when little changed: one folder walk and one sorted query. New files are
        read and written in batches, so a rebuild of thousands shows progress and a
        stop leaves a consistent (if incomplete) index that the next open completes.
        """
        root = Path(root)
        missing, extra = self.difference(root)
        with self._transaction() as conn:
            lineage.fill_pending(conn, root)
            conn.executemany("DELETE FROM images WHERE path = ?", [(p,) for p in extra])
            library.forget_marks(conn, [p for p in extra if is_safe_key(p)])
        added = 0
        for start in range(0, len(missing), BATCH):
            if should_stop():
                break
            records = [
                r
                for r in (read_record(root, root / p) for p in missing[start : start + BATCH])
                if r
            ]
            self.add_many(records)
            added += len(records)
            if progress is not None:
                progress(min(start + BATCH, len(missing)), len(missing))
        return Reconciled(added, len(extra), self.count())

    def rebuild(self, root: Path, progress: Progress | None = None) -> Reconciled:
        """Forget every row and read every PNG again (with the stars and boards they
        hold; those of pictures outside the root are kept: the index is their home)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM images")
            library.forget_own_marks(conn)
        return self.reconcile(root, progress)

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
        with index_file.transaction(self._conn()) as conn:
            yield conn

    # ------------------------------------------------------------ opening

    def _open(self) -> OpenState:
        try:
            return self._open_or_raise()
        except sqlite3.Error as exc:
            self.close()
            words = trouble(exc)
            if words is None:
                raise
            raise IndexUnavailable(words) from exc

    def _open_or_raise(self) -> OpenState:
        if not index_file.has_content(self.db_path):
            self._discard()  # a stale -wal beside a missing file could be replayed into it
            try:
                self._create()
            except sqlite3.Error:
                # Half made (a full disk): gone, so the next try does not take it for
                # another program's database (it has no application_id yet).
                self._discard()
                raise
            return OpenState.NEW
        try:
            application_id, version = index_file.identify(self._conn())
        except sqlite3.DatabaseError as exc:
            if trouble(exc) is not None:
                raise  # the file may be fine; the disk or permissions are not
            log.warning("gallery index %s is damaged (%s); rebuilding", self.db_path, exc)
            self._move_aside("damaged")
            self._create()
            return OpenState.DAMAGED
        if application_id != index_file.APPLICATION_ID and not (
            application_id == 0 and index_file.looks_like_ours(self._conn())
        ):
            log.warning("%s is another program's database; setting it aside", self.db_path)
            self._move_aside("foreign")
            self._create()
            return OpenState.FOREIGN
        if version == index_file.LINEAGE_FROM and index_file.add_links(self._conn()):
            return OpenState.OK  # kept: the stars of pictures outside the gallery with it
        if version != SCHEMA_VERSION:
            self._discard()
            self._create()
            return OpenState.OUTDATED
        return OpenState.OK

    def _create(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        index_file.create(self._conn())

    def _move_aside(self, why: str) -> None:
        self.close()  # every thread's connection, before the file moves
        self.set_aside = index_file.move_aside(self.db_path, why)

    def _discard(self) -> None:
        self.close()
        index_file.discard(self.db_path)


def _insert(conn: sqlite3.Connection, records: list[IndexRecord]) -> None:
    """Rows read from the output folder's PNGs: the marks they carry (or none) replace
    what the index had for them, since the file is the truth. A source folder's picture
    (an absolute key) carries none: the index is the home of its marks, kept as they are."""
    conn.executemany(_INSERT, [as_row(r) for r in records])
    for record in records:
        lineage.write_links(conn, record.path, record.links)
    library.forget_marks(conn, [r.path for r in records if is_safe_key(r.path)])
    for record in records:
        if record.marks is not None and (record.marks.stars or record.marks.boards):
            library.set_marks(conn, record.path, record.marks)
