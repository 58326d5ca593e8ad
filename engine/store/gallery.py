"""The gallery: images on disk under one output folder, listed through a SQLite index.

The PNG files are the truth. The index only makes listing fast; when it is missing,
damaged or from another schema it is rebuilt from the files, and `notice` tells the
user when that happened for a reason they should know about.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from send2trash import send2trash

from engine.api.outcomes import ResultImage
from engine.api.requests import Request
from engine.atomic import write_bytes_atomic
from engine.store.errors import StoreError, reason, save_failed
from engine.store.index import GalleryIndex, OpenState, record_for, relative_key
from engine.store.layout import image_slug, remove_stale_reservations, reserve
from engine.store.metadata import ImageMetadata, png_text, read_metadata
from engine.store.png import encode_png

log = logging.getLogger(__name__)

INDEX_NAME = ".latentstudio-index.sqlite3"


@dataclass(frozen=True)
class GalleryItem:
    """One row of the gallery grid."""

    path: Path
    created: datetime  # local time, timezone-aware
    kind: str  # "txt2img", "sample", ... or "external" for other tools' images
    prompt: str
    model: str
    seed: int | None
    width: int
    height: int


class GalleryStore:
    """Save, list, read and delete gallery images. Safe to use from several threads."""

    def __init__(self, root: Path, index_path: Path | None = None) -> None:
        self.root = Path(root).expanduser().absolute()
        self.index_path = Path(index_path) if index_path else self.root / INDEX_NAME
        self.notice: str | None = None
        # An unusable output folder must not stop the app from starting: the store then
        # lists nothing, and each save says why it cannot write (and retries the folder).
        self.error: str | None = None
        self._index: GalleryIndex | None = None
        self.closed = False
        with contextlib.suppress(StoreError):
            self._open_index()

    def _open_index(self) -> GalleryIndex:
        if self._index is not None:
            return self._index
        if self.closed:
            raise StoreError(f"The gallery in {self.root} was closed; open it again.")
        try:
            self._index = GalleryIndex(self.index_path)
        except (OSError, sqlite3.Error) as exc:
            self.error = (
                f"Could not open the gallery in {self.root}: {_describe(exc)}. "
                "Choose another output folder in Settings."
            )
            self.notice = self.error
            raise StoreError(self.error) from exc
        self.error = None
        self._recover(self._index.state)
        return self._index

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
        try:
            with reserve(self.root, created, image.seed, slug) as spot:
                write_bytes_atomic(spot.path, data)
        except OSError as exc:
            raise save_failed(self.root, exc) from exc
        self._index_file(spot.path)
        return spot.path

    def delete(self, path: Path) -> None:
        """Move an image to the system trash and drop it from the index.

        A file that is already gone is only dropped from the index.
        """
        path = self._absolute(path)
        key = self._key(path)
        try:
            send2trash(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(
                f"Could not move {path} to the trash: {reason(exc)}. "
                "You can delete it from your file manager instead."
            ) from exc
        if self._index is not None:
            self._index.remove(key)

    def rebuild(self) -> int:
        """Re-read every PNG in the output folder into the index; returns their count."""
        if self.root.is_dir():
            remove_stale_reservations(self.root)
        return self._index.rebuild(self.root) if self._index is not None else 0

    # ------------------------------------------------------------ reading

    def items(self, limit: int | None = None, offset: int = 0) -> list[GalleryItem]:
        """Gallery images, newest first."""
        if self._index is None:
            return []
        return [
            GalleryItem(
                path=self.root / record.path,
                created=datetime.fromtimestamp(record.created).astimezone(),
                kind=record.kind,
                prompt=record.prompt,
                model=record.model,
                seed=record.seed,
                width=record.width,
                height=record.height,
            )
            for record in self._index.newest(limit, offset)
        ]

    def count(self) -> int:
        return self._index.count() if self._index is not None else 0

    def metadata(self, path: Path) -> ImageMetadata:
        """Read an image's metadata from the file itself (not from the index)."""
        path = self._absolute(path)
        try:
            return read_metadata(path)
        except (OSError, ValueError) as exc:
            raise StoreError(f"Could not read {path}: {_describe(exc)}.") from exc

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

    def _recover(self, state: OpenState) -> None:
        if state is OpenState.OK:
            return
        count = self.rebuild()
        if state is OpenState.DAMAGED or (state is OpenState.NEW and count):
            how = "damaged" if state is OpenState.DAMAGED else "missing"
            images = "image" if count == 1 else "images"
            self.notice = (
                f"The gallery index was {how} and has been rebuilt "
                f"from the {count} {images} in {self.root}."
            )

    def _index_file(self, path: Path) -> None:
        # The PNG is saved whatever happens here: an index failure must not turn a
        # saved image into a failed job; the next rebuild picks the file up.
        index = self._index
        if index is None:  # closed meanwhile (the output folder changed): a rebuild finds it
            return
        try:
            index.add(record_for(read_metadata(path), self._key(path)))
        except (OSError, ValueError, sqlite3.Error):
            log.exception("saved %s but could not add it to the gallery index", path)

    def _absolute(self, path: Path) -> Path:
        path = Path(path).expanduser()
        return path if path.is_absolute() else self.root / path

    def _key(self, path: Path) -> str:
        try:
            return relative_key(self.root, path)
        except ValueError:
            pass
        try:
            return relative_key(self.root.resolve(), path.resolve())
        except ValueError:
            raise StoreError(f"{path} is not in the gallery folder {self.root}.") from None


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return reason(exc)
    text = str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]
