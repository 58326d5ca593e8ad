"""Decode image files on a small thread pool, so the GUI thread never waits on a disk read.

QImage (unlike QPixmap) may be built off the GUI thread; the signals reach the GUI thread
through Qt's queued connections. Thumbnails are decoded at their small size where the
format allows it (JPEG), and come with the size the file's header claims.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

# Upscaled results are large (an ×4 of a 2048 px image is 8192² pixels, 256 MB as a
# QImage): Qt's default 256 MB allocation limit would refuse to show them.
ALLOCATION_LIMIT_MB = 4096


def allow_large_images() -> None:
    """Raise Qt's limit for every reader in the app (the gallery's thumbnails too)."""
    if 0 < QImageReader.allocationLimit() < ALLOCATION_LIMIT_MB:
        QImageReader.setAllocationLimit(ALLOCATION_LIMIT_MB)


def header_size(path: str) -> QSize:
    """The size a file says it has, read from its header alone (invalid if unreadable)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    return reader.size()


def read_thumbnail(path: str, side: int) -> tuple[QImage, QSize]:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read(), size


def read_image(path: str) -> QImage:
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # as the engine reads it: upright, as EXIF says
    return reader.read()


class ImageLoader(QObject):
    thumbnail_loaded = Signal(str, QImage, QSize)  # path, thumbnail, the file's own size
    image_loaded = Signal(str, QImage)  # path, the whole image (null if unreadable)

    def __init__(self, parent: QObject | None = None, thumbnail_side: int = 64) -> None:
        super().__init__(parent)
        self.thumbnail_side = thumbnail_side
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._pending: set[tuple[str, str]] = set()

    def thumbnail(self, path: str) -> None:
        if self._claim("thumb", path):
            side = self.thumbnail_side
            self._pool.start(lambda: self._thumbnail_done(path, *read_thumbnail(path, side)))

    def image(self, path: str, wanted: Callable[[str], bool] | None = None) -> None:
        """Decode `path`; with `wanted`, a read whose turn comes when `wanted(path)` is
        false is skipped, nothing emitted (a fast walk does not decode every picture)."""
        if self._claim("image", path):
            self._pool.start(lambda: self._read_image(path, wanted))

    def _claim(self, kind: str, path: str) -> bool:
        key = (kind, path)
        if key in self._pending:
            return False
        self._pending.add(key)
        return True

    # These run on a pool thread: the set is only touched here and in _claim, under the
    # GIL, and a path asked for again while being read is simply read again.
    def _thumbnail_done(self, path: str, image: QImage, size: QSize) -> None:
        self._pending.discard(("thumb", path))
        self.thumbnail_loaded.emit(path, image, size)

    def _read_image(self, path: str, wanted: Callable[[str], bool] | None) -> None:
        if wanted is not None and not wanted(path):
            # Release the claim first, then look again: a path asked for again between
            # the two looks is read here; one asked for after the release, by its own read.
            self._pending.discard(("image", path))
            if not wanted(path):
                return
        self._image_done(path, read_image(path))

    def _image_done(self, path: str, image: QImage) -> None:
        self._pending.discard(("image", path))
        self.image_loaded.emit(path, image)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def close(self) -> None:
        """Drop what has not started and wait for what has (one decode at most)."""
        self._pool.clear()
        self._pool.waitForDone(10_000)
