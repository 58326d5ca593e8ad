"""The gallery: images on disk under one output folder, listed through a SQLite index.

The PNG files are the truth. The index only makes listing fast: `sync()` (run at every
open, off the GUI thread in the app) puts right what killed saves left behind and brings
the index in line with the folder; `notice` tells the user when the index had to be
rebuilt for a reason they should know about. The store touches nothing outside its
root: every path it is given, or finds in its index, is checked to stay inside.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from engine.api.outcomes import ResultImage
from engine.api.parts import ImageRef
from engine.api.requests import Request
from engine.atomic import write_bytes_atomic
from engine.store.errors import FULL_DISK_ERRORS, StoreError, reason, save_failed
from engine.store.gallery_items import Difference, GalleryItem, item_of
from engine.store.index import (
    GalleryIndex,
    IndexUnavailable,
    OpenState,
    Progress,
    Reconciled,
)
from engine.store.index_rows import IndexRecord, is_safe_key, record_of_file, relative_key
from engine.store.inputs import INPUTS_FOLDER, keep_input
from engine.store.layout import day_folder, image_slug, reserve
from engine.store.leftovers import clean_leftovers
from engine.store.lineage import Lineage
from engine.store.lineage_state import family_of
from engine.store.marking import change_marks, mark_key
from engine.store.marks import Marks, board_name, boards_of, check_stars
from engine.store.metadata import ImageMetadata, png_text, read_metadata
from engine.store.output_folder import check_inside
from engine.store.png import encode_png
from engine.store.query import parse_query
from engine.store.source_folders import SourceFolders, refused_change, source_metadata
from engine.store.trash import Trashed, move_to_trash, restore

log = logging.getLogger(__name__)

INDEX_NAME = ".latentstudio-index.sqlite3"


class GalleryStore:
    """Save, list, read and delete gallery images. Safe to use from several threads."""

    def __init__(
        self, root: Path, index_path: Path | None = None, sources: tuple[Path, ...] = ()
    ) -> None:
        self.root = Path(root).expanduser().absolute()
        self._sources = SourceFolders(self.root)  # other tools' folders, read only
        self.index_path = Path(index_path) if index_path else self.root / INDEX_NAME
        self.notice: str | None = None
        # An unusable output folder must not stop the app from starting: the store then
        # lists nothing, and each save says why it cannot write (and retries the folder).
        self.error: str | None = None
        self.state: OpenState | None = None
        self._index: GalleryIndex | None = None
        self.closed = False
        with contextlib.suppress(StoreError):
            self._open_index()
        if problems := self.set_source_folders(sources):
            self.notice = " ".join(problems)

    @property
    def source_folders(self) -> tuple[Path, ...]:
        return self._sources.folders

    def set_source_folders(self, folders: list[Path] | tuple[Path, ...]) -> list[str]:
        """List other tools' folders too (engine.store.source_folders), never writing to
        them; a sentence for each that cannot be one (it is left out). A sync follows."""
        return self._sources.set(folders)

    @classmethod
    def opened(cls, root: Path, index_path: Path | None = None) -> GalleryStore:
        """Open and sync at once, as the command line does (the app syncs in the background)."""
        store = cls(root, index_path)
        store.sync()
        return store

    def _open_index(self) -> GalleryIndex:
        if self._index is not None:
            return self._index
        if self.closed:
            raise StoreError(f"The gallery in {self.root} was closed; open it again.")
        try:
            self._index = GalleryIndex(self.index_path)
        except IndexUnavailable as exc:
            self._fail(exc.reason, keep=True)
        except (OSError, sqlite3.Error) as exc:
            self._fail(_describe(exc), keep=False)
        self.error = None
        self.state = self._index.state
        if self._index.set_aside is not None and self._index.state is OpenState.FOREIGN:
            self.notice = (
                f"{self.index_path.name} in {self.root} belonged to another program; it was "
                f"kept as {self._index.set_aside.name} and a new gallery index was made."
            )
        return self._index

    def _fail(self, why: str, keep: bool) -> None:
        kept = " The gallery index was kept as it is." if keep else ""
        self.error = (
            f"Could not open the gallery in {self.root}: {why}.{kept} Choose another output "
            "folder in Settings, or fix this one."
        )
        self.notice = self.error
        raise StoreError(self.error)

    # ------------------------------------------------------------ writing

    def save(self, image: ResultImage, request: Request) -> Path:
        """Write `image` as a PNG with its metadata and index it; returns its path.

        Raises StoreError when the output folder cannot take the file (permissions,
        disk full); nothing is left behind then.
        """
        self._open_index()
        created = datetime.now().astimezone()
        data = encode_png(image.rgb, png_text(image, request, created))
        slug = image_slug(request.slug_text, str(image.info.get("model") or ""))
        check_inside(self.root, day_folder(self.root, created))
        try:
            with reserve(self.root, created, image.seed, slug) as spot:
                write_bytes_atomic(spot.path, data)
        except OSError as exc:
            raise save_failed(self.root, exc) from exc
        self._index_file(spot.path)
        return spot.path

    def keep_input(self, data: bytes) -> ImageRef:
        """Keep a PNG a recipe starts from (a painted mask, a pasted image) in the
        gallery folder, named by its content; its absolute path and sha256. Not listed
        as a gallery picture. BadInput if it is not a PNG, StoreError if it cannot be
        written (nothing is left behind then)."""
        check_inside(self.root, self.root / INPUTS_FOLDER)
        return keep_input(self.root, data)

    def delete(self, path: Path) -> Trashed:
        """Move an image of the gallery to the system trash and drop it from the index.

        Refuses a source folder's picture, and any path outside the gallery (after
        resolving '..' and links). A file that
        is already gone is only dropped from the index. The result can undo it (`undelete`)
        where the platform lets us find the file in the trash.
        """
        if self._sources.holding(path) is not None:
            raise refused_change(path)
        path = self.inside(path)
        if path.name.startswith("."):  # the index, its journal, a temp file, a marker
            raise StoreError(
                f"{path.name} is one of the gallery's own files, not an image; Latent "
                "Studio only moves images to the trash."
            )
        if path.suffix.lower() != ".png" or path.is_dir():
            raise StoreError(
                f"{path.name} is not one of the gallery's images (PNG files); Latent Studio "
                "only moves those to the trash."
            )
        key = self._key(path)
        trashed = Trashed(path)
        try:
            trashed = move_to_trash(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(
                f"Could not move {path} to the trash: {reason(exc)}. "
                "You can delete it from your file manager instead."
            ) from exc
        if self._index is not None:
            self._index.remove(key)
        return trashed

    def undelete(self, trashed: Trashed) -> Path:
        """Bring back an image `delete` moved to the trash, into the gallery and its index."""
        path = self.inside(trashed.original)
        try:
            restore(trashed)
        except OSError as exc:
            raise StoreError(
                f"Could not restore {path.name} from the trash: {reason(exc)}."
            ) from exc
        self._index_file(path)
        return path

    # ------------------------------------------------------------ bringing in line with disk

    def sync(
        self, progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> Reconciled | None:
        """Put right what killed saves left, then list the files the index lacks and
        forget the ones that are gone. Safe on any thread; None if the index is unusable."""
        try:
            index = self._open_index()
        except StoreError:
            return None
        leftovers = clean_leftovers(self.root)
        try:
            result = index.reconcile(self.root, progress, should_stop)
            sources = self._sources.reconcile(index, progress, should_stop)
        except (IndexUnavailable, sqlite3.Error, OSError) as exc:
            self.notice = f"The gallery could not be brought up to date: {_describe(exc)}."
            return None
        self._note(result, leftovers.recovered)
        if sources.notes:
            self.notice = " ".join(filter(None, [self.notice, *sources.notes[:3]]))
        return result

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-read every picture of the output and source folders into the index; returns
        their count. Stars and boards of source pictures (index only) are kept."""
        index = self._open_index()
        clean_leftovers(self.root)
        index.rebuild(self.root, progress)
        self._sources.reconcile(index, progress)
        return index.count()

    def difference(self) -> Difference:
        """What the index and the folder disagree on, changing neither."""
        missing, extra = self._open_index().difference(self.root)
        return Difference(missing, extra)

    def _note(self, result: Reconciled, recovered: int) -> None:
        how = {OpenState.DAMAGED: "damaged", OpenState.NEW: "missing"}.get(self.state)
        images = "image" if result.total == 1 else "images"
        if how is not None and result.total:
            self.notice = (
                f"The gallery index was {how} and has been rebuilt "
                f"from the {result.total} {images} in {self.root}."
            )
        elif recovered:
            self.notice = f"Recovered {recovered} image(s) whose save was interrupted."
        self.state = OpenState.OK

    # ------------------------------------------------------------ reading

    def items(self, limit: int | None = None, offset: int = 0) -> list[GalleryItem]:
        """Gallery images, newest first."""
        if self._index is None:
            return []
        return self._items(self._index.newest(limit, offset))

    def search(self, text: str, limit: int | None = None, offset: int = 0) -> list[GalleryItem]:
        """The images a search (engine.store.query.QUERY_HELP) matches, newest first.
        BadInput (a sentence naming the term) when it is malformed."""
        query = parse_query(text)
        return self._items(self._index.search(query, limit, offset)) if self._index else []

    def count_search(self, text: str) -> int:
        """How many images a search matches (BadInput when it is malformed)."""
        query = parse_query(text)
        return self._index.count_matches(query) if self._index is not None else 0

    def row_of(self, path: Path | str, text: str = "") -> int | None:
        """The row of `path` among the images `text` lists (every image when empty),
        newest first; None when it does not list it. BadInput when `text` is malformed."""
        query = parse_query(text)
        if self._index is None:
            return None
        return self._index.position(query, mark_key(self.root, path, must_exist=False)[0])

    def _items(self, records: list[IndexRecord]) -> list[GalleryItem]:
        return [
            item_of(record, self.root / record.path)
            for record in records
            if is_safe_key(record.path) or self._sources.owns_key(record.path)
        ]

    # ------------------------------------------------------------ stars and boards

    def set_stars(self, paths: list[Path | str], stars: int) -> None:
        """Stars (0-5) on pictures: in the PNG and the index for ours, in the index only
        for pictures outside the output folder (never written)."""
        stars = check_stars(stars)
        self._change(paths, lambda m: Marks(stars, m.boards))

    def add_to_board(self, paths: list[Path | str], name: str) -> None:
        name = board_name(name)
        self._change(paths, lambda m: Marks(m.stars, boards_of((*m.boards, name))))

    def remove_from_board(self, paths: list[Path | str], name: str) -> None:
        name = board_name(name).casefold()
        self._change(
            paths, lambda m: Marks(m.stars, tuple(b for b in m.boards if b.casefold() != name))
        )

    def marks(self, path: Path | str) -> Marks:
        """What the index holds (a picture deleted meanwhile has none)."""
        key, _ours = mark_key(self.root, path, must_exist=False)
        return self._open_index().marks(key)

    def boards(self) -> list[str]:
        return self._index.boards() if self._index is not None else []

    def _change(self, paths: list[Path | str], change) -> None:
        change_marks(self.root, self._open_index(), paths, change)

    def count(self) -> int:
        return self._index.count() if self._index is not None else 0

    def lineage(self, path: Path | str) -> Lineage:
        """The pictures `path` was made from and those made from it, each with whether
        its file is still there as it was. Reads files: call it off the GUI thread."""
        path = self.inside(path)
        if self._index is None:
            return Lineage(path)
        return family_of(self.root, self._index, path, self._key(path))

    def metadata(self, path: Path) -> ImageMetadata:
        """Read an image's metadata from the file itself (not from the index)."""
        if self._sources.holding(path) is not None:
            return source_metadata(Path(path).expanduser().resolve())
        path = self.inside(path)
        try:
            return read_metadata(path)
        except (OSError, ValueError) as exc:
            raise StoreError(f"Could not read {path}: {_describe(exc)}.") from exc

    def inside(self, path: Path | str) -> Path:
        """`path` (absolute, or relative to the root) if it is in the gallery, else
        StoreError. '..' and links are resolved first, so neither can lead out."""
        if "\0" in str(path):  # the OS refuses such a name with a ValueError
            raise StoreError(f"{str(path)!r} is not a valid file name (it holds a NUL).")
        path = Path(path).expanduser()
        absolute = path if path.is_absolute() else self.root / path
        resolved = absolute.resolve()
        if not resolved.is_relative_to(self.root.resolve()) or resolved == self.root.resolve():
            raise StoreError(
                f"{path} is not an image in the gallery folder {self.root}; Latent Studio "
                "only moves its own gallery's images to the trash."
            )
        return resolved

    def close(self) -> None:
        """Close the index's connections; the store lists nothing afterwards."""
        if self._index is not None:
            self._index.close()
            self._index = None
        self.closed = True

    def __enter__(self) -> GalleryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ internals

    def _index_file(self, path: Path) -> None:
        # The PNG is saved whatever happens here: an index failure must not turn a
        # saved image into a failed job; the next sync picks the file up.
        index = self._index
        if index is None:  # closed meanwhile (the output folder changed): a sync finds it
            return
        try:
            index.add(record_of_file(path, self._key(path)))
        except (OSError, ValueError, sqlite3.Error) as exc:
            if _disk_full(exc):  # the save that fails next says so, in one sentence
                log.info("saved %s; the index is full until space is freed", path)
            else:
                log.exception("saved %s but could not add it to the gallery index", path)

    def _key(self, path: Path) -> str:
        try:
            return relative_key(self.root.resolve(), Path(path).resolve())
        except ValueError:
            raise StoreError(f"{path} is not in the gallery folder {self.root}.") from None


def _disk_full(exc: Exception) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in FULL_DISK_ERRORS
    return "disk is full" in str(exc)  # SQLite's SQLITE_FULL


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return reason(exc)
    text = str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]
