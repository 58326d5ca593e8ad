"""Watched source folders (issue 24): other tools' pictures in the gallery, read only.

A source folder (A1111's or Forge's outputs, ComfyUI's output, an InvokeAI or Fooocus
folder…) is listed like the output folder, but nothing in it is ever written, moved,
renamed or deleted:
- its pictures (PNG, JPEG, WebP; hidden files, hidden folders and links skipped) are
  read through engine.store.foreign, which refuses hostile files with notes, and indexed
  under their absolute path, with `source` the tool that wrote them (or "unknown");
- their stars and boards live in the index only (engine.store.marking never writes a
  file outside the output folder), and a rebuild keeps them (index_library);
- deleting one is refused with a sentence (GalleryStore.delete).

A source folder may not hold the output folder, nor lie inside it, nor inside another
source folder: each picture then has one home and one key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.store.errors import StoreError
from engine.store.foreign import read_picture
from engine.store.index import BATCH, GalleryIndex, Progress
from engine.store.index_rows import IndexRecord
from engine.store.metadata import EXTERNAL_KIND, ImageMetadata, read_metadata
from engine.store.record_fields import UNKNOWN_TOOL

log = logging.getLogger(__name__)

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_INT64_MAX = 2**63 - 1


def refused_change(path: Path | str) -> StoreError:
    return StoreError(
        f"{Path(path).name} is in a source folder, which Latent Studio never changes: "
        "delete or rename it in its own folder."
    )


def folder_problem(root: Path, folder: Path, others: Iterable[Path] = ()) -> str | None:
    """Why `folder` cannot be a source folder of the gallery in `root` (a sentence), or
    None. `others`: the source folders already in use (resolved)."""
    try:
        resolved = Path(folder).expanduser().resolve()
        is_folder = resolved.is_dir()
    except (OSError, ValueError, RuntimeError):
        is_folder = False
    if not is_folder:
        return f"{folder} is not a folder that can be read; it was not added as a source folder."
    output = Path(root).expanduser().resolve()
    if resolved == output or resolved.is_relative_to(output):
        return (
            f"{folder} is inside the output folder {root}, whose pictures the gallery lists "
            "already; a source folder must be outside it."
        )
    if output.is_relative_to(resolved):
        return (
            f"{folder} holds the output folder {root}; Latent Studio writes there. Add the "
            "other tool's own folder instead."
        )
    for other in others:
        if resolved == other or resolved.is_relative_to(other) or other.is_relative_to(resolved):
            return f"{folder} overlaps the source folder {other}, which is listed already."
    return None


@dataclass(frozen=True)
class SourcesSynced:
    added: int
    removed: int
    notes: list[str]  # sentences about files that could not be read (said once each)


class SourceFolders:
    """The source folders of one gallery, and bringing their index rows in line."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folders: tuple[Path, ...] = ()  # resolved, as index keys are
        self._unreadable: dict[str, tuple[int, int]] = {}  # key -> (mtime_ns, size) said

    def set(self, folders: Iterable[Path | str]) -> list[str]:
        """Use `folders`; a sentence for each that cannot be one (it is left out)."""
        kept: list[Path] = []
        problems: list[str] = []
        for folder in folders:
            problem = folder_problem(self.root, Path(folder), kept)
            if problem:
                problems.append(problem)
            else:
                kept.append(Path(folder).expanduser().resolve())
        self.folders = tuple(kept)
        return problems

    def holding(self, path: Path | str) -> Path | None:
        """The source folder `path` is in (after resolving '..' and links), or None."""
        try:
            resolved = Path(path).expanduser().resolve()
        except (OSError, ValueError, RuntimeError):
            return None
        return next((f for f in self.folders if resolved.is_relative_to(f)), None)

    def owns_key(self, key: str) -> bool:
        """An index key that is a picture of a source folder in use (listed, then)."""
        path = Path(key)
        return path.is_absolute() and any(path.is_relative_to(f) for f in self.folders)

    def reconcile(
        self,
        index: GalleryIndex,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SourcesSynced:
        """Index the source pictures the index lacks; drop the rows of those gone, or of
        folders no longer listed. A gone picture's stars are forgotten; those of a folder
        that is missing (a drive not mounted) or was removed are kept for its return."""
        folders = self.folders  # one list for the whole run, whatever `set` does meanwhile
        on_disk = {p.as_posix(): p for f in folders for p in scan_pictures(f)}
        indexed = set(index.outside_paths())
        gone = sorted(indexed - on_disk.keys())
        present = [f for f in folders if _is_dir(f)]
        index.drop(gone, forget_marks=[k for k in gone if _under(k, present)])
        missing = sorted(on_disk.keys() - indexed)
        added, notes = 0, []
        for start in range(0, len(missing), BATCH):
            if should_stop():
                break
            records = []
            for key in missing[start : start + BATCH]:
                record = self._read(on_disk[key], notes)
                if record is not None:
                    records.append(record)
            index.add_many(records)
            added += len(records)
            if progress is not None:
                progress(min(start + BATCH, len(missing)), len(missing))
        return SourcesSynced(added, len(gone), notes)

    def _read(self, path: Path, notes: list[str]) -> IndexRecord | None:
        """The row of one picture; None (and a note, once per version of the file) when
        it cannot be read at all."""
        try:
            stat = path.stat()
        except OSError:
            return None
        read = read_picture(path)
        if read.error or read.pixels is None:
            seen = (stat.st_mtime_ns, stat.st_size)
            if self._unreadable.get(path.as_posix()) != seen:
                self._unreadable[path.as_posix()] = seen
                notes.append(read.error or f"{path.name} is not a picture that can be read.")
            return None
        if read.notes:
            log.info("source picture %s: %s", path, " ".join(read.notes))
        fields = read.fields
        seed = fields.get("seed")
        sampler = fields.get("sampler", "")
        return IndexRecord(
            path=path.as_posix(),
            created=stat.st_mtime,  # no tool writes a date every reader can trust
            kind=EXTERNAL_KIND,
            prompt=str(fields.get("prompt", "")),
            negative_prompt=str(fields.get("negative_prompt", "")),
            model=str(fields.get("model", "")),
            seed=seed if isinstance(seed, int) and seed <= _INT64_MAX else None,
            width=read.pixels[0],
            height=read.pixels[1],
            recipe=None,
            mode="img2img" if "denoising_strength" in fields else "other",
            sampler=sampler if isinstance(sampler, str) else "",
            names=" ".join(lora.name for lora in read.loras),
            source=(read.tool or UNKNOWN_TOOL).lower(),
        )


def scan_pictures(folder: Path) -> Iterator[Path]:
    """Every visible PNG, JPEG and WebP under `folder`, sorted; hidden files and folders
    and links are skipped (a link could lead out of the folder, or list a picture twice)."""
    for parent, dirs, files in os.walk(folder):
        here = Path(parent)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(files):
            path = here / name
            if (
                name.lower().endswith(SUFFIXES)
                and not name.startswith(".")
                and not path.is_symlink()
            ):
                yield path


def source_metadata(path: Path) -> ImageMetadata:
    """A source picture's metadata for the details dock: its A1111 text if Pillow reads
    one, else its size from engine.store.foreign (the dock adds the foreign read)."""
    try:
        return read_metadata(path)
    except (OSError, ValueError):
        pass
    read = read_picture(path)
    if read.pixels is None:
        raise StoreError(read.error or f"{path.name} is not a picture that can be read.")
    return ImageMetadata(path=path, width=read.pixels[0], height=read.pixels[1], kind=EXTERNAL_KIND)


def _under(key: str, folders: list[Path]) -> bool:
    return any(Path(key).is_relative_to(f) for f in folders)


def _is_dir(folder: Path) -> bool:
    try:
        return folder.is_dir()
    except OSError:
        return False
