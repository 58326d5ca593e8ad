"""The gallery index's file: telling apart what is at its path, creating and migrating it,
and setting aside one that cannot be used (engine.store.index decides which, at open).

Each function takes the connection or the path; closing connections before a file is
moved or deleted is the caller's part (it owns them, one per thread).
"""

from __future__ import annotations

import contextlib
import enum
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from engine.store import lineage
from engine.store.index_rows import IMAGE_COLUMNS
from engine.store.index_schema import LINKS_STATEMENTS, SCHEMA_VERSION, STATEMENTS

APPLICATION_ID = 0x4C537467  # "LStg"
LINEAGE_FROM = 3  # the schema that lacks only the links table: migrated in place
_V1_COLUMNS = "path, created, kind, prompt, negative_prompt, model, seed, width, height, recipe"
_SIDE_FILES = ("-wal", "-shm", "-journal")


class OpenState(enum.Enum):
    OK = "ok"  # the file was there and sound
    NEW = "new"  # there was no index file: it is empty until reconciled
    DAMAGED = "damaged"  # the file was not a sound database; it was set aside, now empty
    OUTDATED = "outdated"  # our own older schema; it was replaced, now empty
    FOREIGN = "foreign"  # another program's database was at our path; set aside, now empty


class IndexUnavailable(Exception):  # noqa: N818 - a condition, with a reason
    """The index file is sound but cannot be used now (disk full, I/O error, read-only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_TROUBLES = {
    "database or disk is full": "the disk is full: free some space",
    "disk i/o error": "the disk reported an input/output error",
    "readonly database": "the index file is read-only",
    "unable to open database file": "the folder cannot be written (check its permissions)",
    "database is locked": "another program holds the index locked",
}


def trouble(exc: BaseException) -> str | None:
    """A sentence for an SQLite error that is not damage to the file, else None."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError | OSError):
        for needle, words in _TROUBLES.items():
            if needle in text:
                return words
    return None


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT on a connection opened with isolation_level=None."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself on some errors (disk full)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def identify(conn: sqlite3.Connection) -> tuple[int, int]:
    """(application_id, schema version) of a sound file; DatabaseError if damaged."""
    result = conn.execute("PRAGMA quick_check").fetchone()
    if not result or result[0] != "ok":
        raise sqlite3.DatabaseError(f"integrity check: {result}")
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id == APPLICATION_ID and version == SCHEMA_VERSION:
        conn.execute(f"SELECT {IMAGE_COLUMNS} FROM images LIMIT 1").fetchall()
    return application_id, version


def looks_like_ours(conn: sqlite3.Connection) -> bool:
    """The first version wrote no application_id: recognise its one table."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables != {"images"}:
        return False
    columns = {r[1] for r in conn.execute("PRAGMA table_info(images)")}
    return set(_V1_COLUMNS.split(", ")) <= columns


def create(conn: sqlite3.Connection) -> None:
    """The tables of the current schema, in an empty file (its folder made by the caller)."""
    conn.execute("PRAGMA journal_mode=WAL")
    with transaction(conn):
        for statement in STATEMENTS:
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def add_links(conn: sqlite3.Connection) -> bool:
    """Schema 3 → 4: the links table, filled at the next reconcile (it knows the
    root). False if the file was not the schema 3 we made: it is replaced then."""
    try:
        with transaction(conn):
            for statement in LINKS_STATEMENTS:
                conn.execute(statement)
            lineage.mark_pending(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        if trouble(exc) is not None:
            raise
        return False
    return True


def move_aside(db_path: Path, why: str) -> Path:
    """Keep the file under a new name (never delete what may not be ours); its -wal
    and -shm go with it, so nothing is replayed into the new index. Returns where."""
    aside = db_path.with_name(f"{db_path.name}.{why}")
    if aside.exists():
        aside = db_path.with_name(f"{db_path.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(db_path, aside)
    for suffix in _SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{db_path}{suffix}", f"{aside}{suffix}")
    return aside


def discard(db_path: Path) -> None:
    """The file and its side files gone (ours, outdated or half made)."""
    for suffix in ("", *_SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{db_path}{suffix}")
