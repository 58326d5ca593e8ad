"""Opening a gallery picture without the GUI thread waiting on the disk.

Walking the gallery with the arrow keys opens a picture per key press. Its pixels are
decoded on gui/image_loader.py's pool and its metadata is read through a StoreReader
(gui/store_reads.py); the two answers are handed over together, in one `opened` signal,
so that the canvas and the details dock switch at the same moment and always describe
the same picture. Only the last picture asked for is ever handed over: the answers for
pictures walked past are dropped, and their reads are skipped if they have not started.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from engine.store import ImageMetadata, StoreError
from gui.image_loader import ImageLoader
from gui.store_reads import StoreReader

_WAITING = object()  # the metadata has not arrived yet
_SKIPPED = object()  # a read whose picture was walked past before its turn came


class PictureOpener(QObject):
    # path, its pixels, its ImageMetadata, or None for a picture outside the gallery
    opened = Signal(str, QImage, object)
    failed = Signal(str)  # path: its pixels could not be read

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = ImageLoader(self)
        self.loader.image_loaded.connect(self._pixels_read)
        self.reader = StoreReader(self)
        self._asked: str | None = None  # the picture being opened, None when none is
        self._ticket = 0  # which ask a metadata answer belongs to (A, B, A again…)
        self._pixels: QImage | None = None
        self._meta: object = _WAITING

    @property
    def ticket(self) -> int:
        """Changes whenever an open is asked for or dropped (something else went on the
        canvas): a read started for what the canvas showed checks it before it lands."""
        return self._ticket

    @property
    def pending(self) -> str | None:
        """The picture being opened (the canvas still shows the previous one)."""
        return self._asked

    def open(self, path: str, read_metadata: Callable[[Path], ImageMetadata]) -> None:
        """Read `path`'s pixels and `read_metadata(path)` off the GUI thread; hand them
        over as `opened` (or `failed`) unless another picture is asked for first.
        `read_metadata` raises StoreError for a picture outside the gallery."""
        if path == self._asked:
            return  # already under way (the gallery asks on a click and on the move)
        self._asked, self._pixels, self._meta = path, None, _WAITING
        self._ticket += 1
        ticket = self._ticket
        self.loader.image(path, wanted=lambda p: p == self._asked)
        self.reader.read(
            lambda: self._read_metadata(read_metadata, path, ticket),
            lambda meta: self._metadata_read(ticket, meta),
            None,
        )

    def cancel(self) -> None:
        """Something else went on the canvas: whatever is under way is dropped."""
        self._asked, self._pixels, self._meta = None, None, _WAITING
        self._ticket += 1

    def _read_metadata(
        self, read: Callable[[Path], ImageMetadata], path: str, ticket: int
    ) -> object:
        # On the reader's thread: reading an int the GUI thread writes is atomic.
        if ticket != self._ticket:
            return _SKIPPED
        try:
            return read(Path(path))
        except StoreError:  # a picture outside the gallery (dropped, before a restart)
            return None

    def _metadata_read(self, ticket: int, meta: object) -> None:
        if ticket == self._ticket and meta is not _SKIPPED:
            self._meta = meta
            self._hand_over()

    def _pixels_read(self, path: str, image: QImage) -> None:
        if path != self._asked or self._pixels is not None:
            return  # a picture walked past, or a second read of this one
        if image.isNull():  # said at once: the metadata cannot make up for it
            self.cancel()
            self.failed.emit(path)
            return
        self._pixels = image
        self._hand_over()

    def _hand_over(self) -> None:
        if self._asked is None or self._pixels is None or self._meta is _WAITING:
            return
        path, image, meta = self._asked, self._pixels, self._meta
        self.cancel()
        self.opened.emit(path, image, meta)

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Until the reads under way are done (tests; the answers still need events)."""
        return self.loader.wait(timeout_ms) and self.reader.wait(timeout_ms)

    def close(self) -> None:
        """Closing: nothing more is handed over; the reads under way are waited for."""
        self.cancel()
        self.loader.close()
        self.reader.wait(10_000)
