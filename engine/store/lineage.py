"""Lineage: which pictures a picture was made from, read from its recipe (issue 24).

A recipe names its inputs as ImageRefs (path + sha256): image to image's source, an
inpaint's mask, control and IP-Adapter images, the image an upscale or a Lab
reconstruction started from, the pictures a Lab walk starts and ends at, and a walk's
first frame (engine.finishing names it in the later frames' recipes). The runners of
an upscale and a reconstruction also record the source's own sha256 as `parent`. This
module turns a recipe into `ParentRef`s, and says what the gallery index keeps of them
(the `links` table, engine.store.index_schema): the parent's index key when it is in the
gallery (so moving the whole folder keeps the link), its absolute path otherwise.

The recipe is untrusted JSON (a picture from anywhere): only strings of sane length are
read, a picture never links to itself, and the number of links is bounded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MAX_LINKS = 32  # a hostile recipe cannot make one picture fill the table
MAX_PATH = 4_096
SHA256_HEX = 64

# How a parent was used, as the details dock says it ("Made from: source").
SOURCE, MASK, CONTROL, REFERENCE = "source", "mask", "control", "reference"
UPSCALED, RECONSTRUCTED = "upscaled from", "reconstructed from"
WALK_START, WALK_END = "walk start", "walk end"
WALK_FRAME = "walk's first frame"
# In the recipe of a walk's later frames (one file each): the first frame, path + sha256.
WALK_FIRST_KEY = "walk_first_frame"
# In the recipe of an X/Y/Z plot's cells (one file each): the plot's grid, path + sha256.
# The cell names the grid, not the grid its cells: one link per cell, however many
# cells (a recipe's links are bounded by MAX_LINKS), as a walk's frames name the first.
PLOT_GRID_KEY = "xyz_grid"
PLOT_GRID = "plot grid"
# Where the request's own `image` field says how it was used, by the request's type.
_IMAGE_ROLES = {"upscale": UPSCALED, "reconstruct": RECONSTRUCTED}

# The same link seen from the parent: what the child did with it ("Made into: upscaled").
AS_CHILD = {
    SOURCE: "used as source",
    MASK: "used as mask",
    CONTROL: "used as control",
    REFERENCE: "used as reference",
    UPSCALED: "upscaled",
    RECONSTRUCTED: "reconstructed",
    WALK_START: "walk from it",
    WALK_END: "walk to it",
    WALK_FRAME: "later frame",
    PLOT_GRID: "plot cell",
}

# A relative's state: its file is there and as it was, gone, or rewritten since.
PRESENT, DELETED, CHANGED = "present", "deleted", "changed"


@dataclass(frozen=True)
class ParentRef:
    path: str  # as the recipe wrote it: absolute, or relative to the gallery
    sha256: str  # "" when the recipe did not record it
    role: str


@dataclass(frozen=True)
class Relative:
    """A parent or a child of a picture, as the details dock shows it."""

    path: Path
    role: str
    state: str  # PRESENT, DELETED or CHANGED

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Lineage:
    path: Path
    parents: tuple[Relative, ...] = ()
    children: tuple[Relative, ...] = ()


def parent_refs(recipe: Any) -> list[ParentRef]:
    """The pictures `recipe` (a decoded recipe dict, or anything) was made from, each
    once per role, in the order the recipe names them."""
    if not isinstance(recipe, dict):
        return []
    request = recipe.get("request")
    request = request if isinstance(request, dict) else {}
    found: dict[tuple[str, str], ParentRef] = {}
    for ref in _refs(recipe, request):
        key = (ref.path, ref.role)
        if key not in found or (ref.sha256 and not found[key].sha256):
            found[key] = ref  # the runner's `parent` adds the sha256 the GUI left out
        if len(found) >= MAX_LINKS:
            break
    return list(found.values())


def _refs(recipe: dict, request: dict) -> Iterator[ParentRef]:
    kind = request.get("type")
    image_role = _IMAGE_ROLES.get(kind, SOURCE) if isinstance(kind, str) else SOURCE
    yield from _ref(_get(request, "source", "image"), SOURCE)
    yield from _ref(_get(request, "mask", "image"), MASK)
    for field, role in (("control", CONTROL), ("ip_adapters", REFERENCE)):
        units = request.get(field)
        for unit in units[:MAX_LINKS] if isinstance(units, list) else ():
            yield from _ref(_get(unit, "image"), role)
    yield from _ref(request.get("image"), image_role)
    yield from _ref(request.get("from_image"), WALK_START)
    yield from _ref(request.get("to_image"), WALK_END)
    yield from _ref(recipe.get("parent"), image_role)
    yield from _ref(recipe.get(WALK_FIRST_KEY), WALK_FRAME)
    yield from _ref(recipe.get(PLOT_GRID_KEY), PLOT_GRID)


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _ref(value: Any, role: str) -> Iterator[ParentRef]:
    if not isinstance(value, dict):
        return
    path, sha256 = value.get("path"), value.get("sha256")
    if not isinstance(path, str) or not path.strip() or len(path) > MAX_PATH or "\0" in path:
        return
    ok_sha = isinstance(sha256, str) and len(sha256) == SHA256_HEX
    yield ParentRef(path, sha256.lower() if ok_sha else "", role)


# ---------------------------------------------------------------- the index's side


def link_key(root: Path, path: str) -> str:
    """How the index names a parent: its key (relative, '/'-separated) when it is in the
    gallery `root`, else its absolute path as written; "" for a relative path that
    leads out of the gallery ('..'), which no link may name."""
    given = Path(path)
    if not given.is_absolute():
        parts = PurePosixPath(path.replace("\\", "/")).parts
        return "" if ".." in parts or not parts else PurePosixPath(*parts).as_posix()
    for base, target in ((root, given), (root.resolve(), _resolved(given))):
        try:
            return PurePosixPath(target.relative_to(base)).as_posix()
        except ValueError:
            continue
    return path


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop
        return path


def root_of(path: Path, key: str) -> Path:
    """The gallery root a file at `path` was indexed from under `key`."""
    root = Path(path)
    for _ in PurePosixPath(key).parts:
        root = root.parent
    return root


def links_of(root: Path, key: str, recipe: Any) -> tuple[tuple[str, str, str], ...]:
    """(parent key, sha256, role) of the picture indexed under `key`; never itself."""
    links = {(link_key(root, ref.path), ref.sha256, ref.role) for ref in parent_refs(recipe)}
    return tuple(sorted(link for link in links if link[0] not in ("", key)))


def write_links(conn: sqlite3.Connection, key: str, links: tuple[tuple[str, str, str], ...]):
    conn.execute("DELETE FROM links WHERE child = ?", (key,))
    conn.executemany(
        "INSERT INTO links (child, parent, sha256, role) VALUES (?, ?, ?, ?)",
        [(key, *link) for link in links],
    )


def parents_of(conn: sqlite3.Connection, key: str) -> list[tuple[str, str, str]]:
    """(parent key, sha256, role) rows of the picture `key`."""
    rows = conn.execute(
        "SELECT parent, sha256, role FROM links WHERE child = ? ORDER BY rowid", (key,)
    )
    return list(rows)


def children_of(conn: sqlite3.Connection, key: str, sha256: str) -> list[tuple[str, str, str]]:
    """(child key, recorded sha256, role) of the pictures made from `key`, found by its
    path or, when it moved, by its content."""
    rows = conn.execute(
        "SELECT DISTINCT child, sha256, role FROM links "
        "WHERE (parent = ? OR (sha256 != '' AND sha256 = ?)) AND child != ? "
        "ORDER BY child",
        (key, sha256 or "-", key),
    )
    return list(rows)


# An index made before lineage (schema 3) gets its links from the recipes it holds, at
# the first reconcile (which knows the gallery root): this row says they are pending.
_PENDING = ("", "", "", "pending")


def mark_pending(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO links (child, parent, sha256, role) VALUES (?, ?, ?, ?)", _PENDING)


def fill_pending(conn: sqlite3.Connection, root: Path) -> bool:
    """Links of every row from its stored recipe, if an older index left them pending."""
    if conn.execute("SELECT 1 FROM links WHERE child = ''").fetchone() is None:
        return False
    rows = conn.execute("SELECT path, recipe FROM images WHERE recipe IS NOT NULL").fetchall()
    for key, text in rows:
        try:
            recipe = json.loads(text)
        except ValueError:
            continue
        write_links(conn, key, links_of(root, key, recipe))
    conn.execute("DELETE FROM links WHERE child = ''")
    return True
