"""The SQL of stars, boards and search in the gallery index (engine.store.index_schema).

Functions on an open connection, called by GalleryIndex inside its transactions. Every
value the user typed travels as a parameter (engine.store.query builds the WHERE).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from engine.store.index_rows import IMAGE_COLUMNS, IndexRecord, is_safe_key
from engine.store.marks import Marks
from engine.store.query import Query

_PREFIXED = ", ".join(f"images.{c}" for c in IMAGE_COLUMNS.split(", "))


def set_marks(conn: sqlite3.Connection, key: str, marks: Marks) -> None:
    """Replace a picture's stars and boards (boards are created as named)."""
    conn.execute("DELETE FROM board_members WHERE path = ?", (key,))
    if marks.stars:
        conn.execute("INSERT OR REPLACE INTO marks (path, stars) VALUES (?, ?)", (key, marks.stars))
    else:
        conn.execute("DELETE FROM marks WHERE path = ?", (key,))
    for name in marks.boards:
        conn.execute("INSERT OR IGNORE INTO boards (name) VALUES (?)", (name,))
        conn.execute(
            "INSERT OR IGNORE INTO board_members (board_id, path) "
            "SELECT id, ? FROM boards WHERE name = ?",
            (key, name),
        )


def get_marks(conn: sqlite3.Connection, key: str) -> Marks:
    row = conn.execute("SELECT stars FROM marks WHERE path = ?", (key,)).fetchone()
    boards = conn.execute(
        "SELECT b.name FROM board_members m JOIN boards b ON b.id = m.board_id "
        "WHERE m.path = ? ORDER BY b.name",
        (key,),
    )
    return Marks(row[0] if row else 0, tuple(r[0] for r in boards))


def forget_marks(conn: sqlite3.Connection, keys: Iterable[str]) -> None:
    rows = [(k,) for k in keys]
    conn.executemany("DELETE FROM marks WHERE path = ?", rows)
    conn.executemany("DELETE FROM board_members WHERE path = ?", rows)


def forget_own_marks(conn: sqlite3.Connection) -> None:
    """Drop the marks of the output folder's pictures (a rebuild reads them again from
    the PNGs); those of pictures outside it are kept, the index is their only home."""
    for table in ("marks", "board_members"):
        keys = [r[0] for r in conn.execute(f"SELECT path FROM {table}")]  # noqa: S608
        conn.executemany(
            f"DELETE FROM {table} WHERE path = ?",  # noqa: S608 - a fixed table name
            [(k,) for k in keys if is_safe_key(k)],
        )


def board_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM boards ORDER BY name COLLATE NOCASE")]


def search(
    conn: sqlite3.Connection, query: Query, limit: int | None, offset: int
) -> list[IndexRecord]:
    """The pictures `query` matches, newest first.

    Most searches match many pictures (the letter "f": 60,000 of 100,000), and SQLite
    left to itself sorts them all before the first row: it is told to walk the pictures
    newest first instead and stop at the page's end. A seed picks so few that its own
    index, then a sort, is quicker.
    """
    walk = "" if query.selective else "INDEXED BY images_newest "
    sql = (
        f"SELECT {_PREFIXED} FROM images {walk}WHERE {query.where} "  # noqa: S608 - no user text
        "ORDER BY images.created DESC, images.path DESC LIMIT ? OFFSET ?"
    )
    rows = conn.execute(sql, (*query.params, -1 if limit is None else limit, offset))
    return [IndexRecord(*row) for row in rows]


def position(conn: sqlite3.Connection, query: Query, key: str) -> int | None:
    """How many pictures `query` lists before the picture `key` (its row in the grid,
    newest first), or None when the query does not list it: one count over the index,
    so a picture 90,000 rows down is found without reading the rows before it."""
    where = f"({query.where}) AND images.path = ?"  # noqa: S608 - no user text
    found = conn.execute(f"SELECT created FROM images WHERE {where}", (*query.params, key))
    row = found.fetchone()
    if row is None:
        return None
    before = (
        f"SELECT COUNT(*) FROM images WHERE ({query.where}) AND (images.created > ? "  # noqa: S608
        "OR (images.created = ? AND images.path > ?))"
    )
    return conn.execute(before, (*query.params, row[0], row[0], key)).fetchone()[0]


def count_matches(conn: sqlite3.Connection, query: Query) -> int:
    sql = f"SELECT COUNT(*) FROM images WHERE {query.where}"  # noqa: S608
    return conn.execute(sql, query.params).fetchone()[0]
