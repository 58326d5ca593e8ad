"""The rows of the gallery index: what one image's row holds, how it is read from the
PNG's metadata, and which files and keys the index may hold (visible PNGs, paths that
stay inside the gallery root). No SQL here: engine/store/index.py keeps the database.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.store.inputs import INPUTS_FOLDER
from engine.store.lineage import links_of, root_of
from engine.store.marks import MARKS_KEY, Marks, marks_from_text
from engine.store.metadata import ImageMetadata, metadata_from_text
from engine.store.png import read_png_text
from engine.store.record_fields import LibraryFields, fields_of_foreign, fields_of_recipe

log = logging.getLogger(__name__)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # what an SQLite INTEGER holds


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
    mode: str = "other"  # engine.store.record_fields.MODES
    sampler: str = ""
    names: str = ""  # LoRA and embedding names
    source: str = ""  # "ours" or the tool that made it
    marks: Marks | None = None  # stars and boards read from the PNG (not an images column)
    # (parent key, sha256, role) of each picture it was made from (the `links` table)
    links: tuple[tuple[str, str, str], ...] = ()


IMAGE_COLUMNS = (
    "path, created, kind, prompt, negative_prompt, model, seed, width, height, recipe, "
    "mode, sampler, names, source"
)


def record_for(meta: ImageMetadata, relative: str, marks_text: str | None = None) -> IndexRecord:
    """The index row of an image; `created` falls back to the file's mtime."""
    created = meta.created.timestamp() if meta.created else meta.path.stat().st_mtime
    seed = (
        meta.seed if isinstance(meta.seed, int) and _INT64_MIN <= meta.seed <= _INT64_MAX else None
    )
    return IndexRecord(
        path=relative,
        created=created,
        kind=meta.kind,
        prompt=meta.prompt,
        negative_prompt=meta.negative_prompt,
        model=meta.model,
        seed=seed,
        width=meta.width,
        height=meta.height,
        recipe=json.dumps(meta.recipe) if meta.recipe is not None else None,
        **dataclasses.asdict(_library_fields(meta)),
        marks=marks_from_text(marks_text),
    )


def _library_fields(meta: ImageMetadata) -> LibraryFields:
    if meta.recipe is not None:
        return fields_of_recipe(meta.recipe)
    if meta.path is not None:
        return fields_of_foreign(meta.path)
    return LibraryFields("other", "", "", "")


def relative_key(root: Path, path: Path) -> str:
    """The index key of `path`; ValueError if it is not inside `root`."""
    return PurePosixPath(Path(path).relative_to(root)).as_posix()


def is_safe_key(key: str) -> bool:
    """A row path that stays inside the root: relative, no '..', no drive."""
    parts = PurePosixPath(key).parts
    return (
        bool(parts)
        and not PurePosixPath(key).is_absolute()
        and ".." not in parts
        and ":" not in parts[0]
    )


def is_outside_key(key: str) -> bool:
    """A row of a picture outside the root (a source folder's): its absolute path."""
    return Path(key).is_absolute()


def scan_pngs(root: Path) -> Iterator[Path]:
    """Every visible PNG under `root`; hidden files and folders (temp files, the index)
    are skipped, and so are links, which could lead outside the gallery, and the
    top-level inputs/ folder: the masks and pasted images recipes start from are kept
    there, and they are not pictures of the gallery."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if _walked(root, Path(folder), d))
        for name in sorted(files):
            path = Path(folder) / name
            if name.lower().endswith(".png") and not name.startswith(".") and not path.is_symlink():
                yield path


def _walked(root: Path, folder: Path, name: str) -> bool:
    if name.startswith(".") or (folder / name).is_symlink():
        return False
    return not (name == INPUTS_FOLDER and folder == root)


_ROW_FIELDS = IMAGE_COLUMNS.split(", ")


def as_row(record: IndexRecord) -> tuple:
    """The images table's columns (IMAGE_COLUMNS), in their order."""
    return tuple(getattr(record, name) for name in _ROW_FIELDS)


def read_record(root: Path, path: Path) -> IndexRecord | None:
    """The row of one file, with the marks its PNG holds; None if it cannot be read."""
    try:
        return record_of_file(path, relative_key(root, path))
    except (OSError, ValueError) as exc:
        # One unreadable file (half-copied, not really a PNG) must not stop the rest.
        log.info("skipping %s in the gallery index: %s", path, exc)
        return None


def record_of_file(path: Path, key: str) -> IndexRecord:
    """The row of one file under `key`. OSError / ValueError if it cannot be read."""
    text, (width, height) = read_png_text(path)
    meta = metadata_from_text(text, width, height, path)
    record = record_for(meta, key, text.get(MARKS_KEY))
    if meta.recipe is None:
        return record
    return dataclasses.replace(record, links=links_of(root_of(path, key), key, meta.recipe))
