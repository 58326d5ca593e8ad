"""The gallery index's tables (schema 3, issue 24).

- `images`: one row per picture of the output folder, as read from its file.
- `images_fts`: FTS5 over prompt, negative prompt, model, LoRA/embedding names, sampler
  and file path, kept in step with `images` by triggers (rowid = images.id).
- `marks`, `boards`, `board_members`: stars and boards, keyed by the picture's index key
  (its path relative to the root; an absolute path for a picture outside it). For our
  pictures they are a copy of the PNG's `latentstudio-library` chunk, re-read by a
  rebuild; for pictures outside the output folder (never written) they live here only.
- `links`: lineage (engine.store.lineage): each picture's parents as its recipe names
  them (the parent's index key, or its absolute path outside the gallery), with the
  sha256 the recipe recorded and how it was used. A copy of the recipes, like `images`.
"""

from __future__ import annotations

SCHEMA_VERSION = 4  # 2: application_id set; 3: search, stars and boards; 4: lineage

_FTS_COLUMNS = "prompt, negative_prompt, model, names, sampler, filename"
_FTS_VALUES = "new.id, new.prompt, new.negative_prompt, new.model, new.names, new.sampler, new.path"

# Lineage (schema 4); an index of schema 3 gains them in place (engine.store.index_file).
LINKS_STATEMENTS = (
    """CREATE TABLE links (
        child TEXT NOT NULL,
        parent TEXT NOT NULL,
        sha256 TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL
    )""",
    "CREATE INDEX links_child ON links (child)",
    "CREATE INDEX links_parent ON links (parent)",
    "CREATE INDEX links_sha256 ON links (sha256) WHERE sha256 != ''",
    # An upsert does not delete, so _insert replaces a row's links itself.
    """CREATE TRIGGER images_links_delete AFTER DELETE ON images BEGIN
        DELETE FROM links WHERE child = old.path;
    END""",
)

STATEMENTS = (
    """CREATE TABLE images (
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
        recipe TEXT,
        mode TEXT NOT NULL DEFAULT 'other',
        sampler TEXT NOT NULL DEFAULT '',
        names TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX images_newest ON images (created DESC, path DESC)",
    # The filters' columns, so counting a filter's matches reads an index, not the table.
    "CREATE INDEX images_seed ON images (seed)",
    "CREATE INDEX images_mode ON images (mode)",
    "CREATE INDEX images_source ON images (source)",
    "CREATE INDEX images_size ON images (width, height)",
    # remove_diacritics: "cafe" finds "café"; the default tokenizer folds case. No
    # prefix indexes: they slowed inserts by a fifth and searches no faster (measured).
    f"""CREATE VIRTUAL TABLE images_fts USING fts5(
        {_FTS_COLUMNS}, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    f"""CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
        INSERT INTO images_fts (rowid, {_FTS_COLUMNS}) VALUES ({_FTS_VALUES});
    END""",
    """CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
        DELETE FROM images_fts WHERE rowid = old.id;
    END""",
    f"""CREATE TRIGGER images_fts_update AFTER UPDATE ON images BEGIN
        DELETE FROM images_fts WHERE rowid = old.id;
        INSERT INTO images_fts (rowid, {_FTS_COLUMNS}) VALUES ({_FTS_VALUES});
    END""",
    """CREATE TABLE marks (
        path TEXT PRIMARY KEY,
        stars INTEGER NOT NULL CHECK (stars BETWEEN 0 AND 5)
    ) WITHOUT ROWID""",
    "CREATE TABLE boards (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE)",
    """CREATE TABLE board_members (
        board_id INTEGER NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        PRIMARY KEY (board_id, path)
    ) WITHOUT ROWID""",
    "CREATE INDEX board_members_path ON board_members (path)",
    *LINKS_STATEMENTS,
)
