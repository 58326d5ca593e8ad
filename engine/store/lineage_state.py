"""A picture's parents and children as they are now on disk (engine.store.lineage).

The index says who links to whom; whether each relative's file is still there, and
still the bytes the recipe recorded (its sha256), is read from the disk here. Only the
picture and its parents are hashed: a few files, off the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from engine.hashing import file_sha256
from engine.store.index import GalleryIndex
from engine.store.index_rows import is_safe_key
from engine.store.lineage import CHANGED, DELETED, PRESENT, Lineage, Relative

# A file larger than this (a recipe may name any path) is not read to compare it: it is
# taken as it was, so selecting a picture never reads gigabytes.
MAX_HASHED_BYTES = 256 * 1024 * 1024


def family_of(root: Path, index: GalleryIndex, path: Path, key: str) -> Lineage:
    """The lineage of the gallery picture at `path` (index key `key`)."""
    own = _sha256(path)
    parents = tuple(
        Relative(_place(root, parent), role, _state(_place(root, parent), sha256))
        for parent, sha256, role in index.parents(key)
    )
    children = tuple(
        Relative(root / child, role, _child_state(root / child, sha256, own))
        for child, sha256, role in index.children(key, own)
        if is_safe_key(child)
    )
    return Lineage(path, parents, children)


def _place(root: Path, link: str) -> Path:
    """Where a link's parent is: in the gallery (a safe key), else the absolute path."""
    return root / link if is_safe_key(link) else Path(link)


def _state(path: Path, recorded: str) -> str:
    current = _sha256(path)
    if current is None:
        return DELETED
    return CHANGED if recorded and current and current != recorded else PRESENT


def _child_state(path: Path, recorded: str, own: str | None) -> str:
    """A child is listed while the index has it; CHANGED: made from other bytes than
    the picture has now."""
    if not path.is_file():
        return DELETED
    return CHANGED if recorded and own and recorded != own else PRESENT


def _sha256(path: Path) -> str | None:
    """The file's sha256; "" when it is too large to read; None when it is not there
    (or not a regular file: a device, a pipe)."""
    try:
        if not path.is_file():
            return None
        return file_sha256(path) if path.stat().st_size <= MAX_HASHED_BYTES else ""
    except OSError:
        return None
