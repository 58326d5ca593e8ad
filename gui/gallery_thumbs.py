"""Thumbnails for the gallery grid, decoded off the GUI thread through the disk cache.

The newest request runs first (a rising priority): after a fast scroll the rows on
screen are decoded before the ones scrolled past.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage

from engine.store.thumbnails import ThumbnailCache

THUMB = 128


def to_qimage(image: Image.Image) -> QImage:
    """A Pillow image as a QImage that owns its pixels (safe to send across threads)."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    fmt = QImage.Format.Format_RGBA8888 if image.mode == "RGBA" else QImage.Format.Format_RGB888
    data = image.tobytes()
    channels = len(image.mode)
    return QImage(data, image.width, image.height, image.width * channels, fmt).copy()


def load_thumbnail(path: Path, cache: ThumbnailCache, size: int = THUMB) -> QImage:
    """The cached thumbnail (made now if missing); tiny images are enlarged with crisp
    pixels. A picture that cannot be read gives a null QImage (the placeholder stays)."""
    try:
        image = to_qimage(cache.thumbnail(path))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return QImage()
    if max(image.width(), image.height()) < size:
        image = image.scaled(
            size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
        )
    # The format the screen paints without converting: done here, not at every paint.
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


class ThumbnailLoader(QObject):
    """Decodes thumbnails on a small thread pool; the GUI thread only receives them.

    QImage (unlike QPixmap) may be built off the GUI thread; `loaded` is delivered to the
    GUI thread by Qt's queued connection.
    """

    loaded = Signal(str, QImage)

    def __init__(self, parent: QObject | None = None, cache: ThumbnailCache | None = None):
        super().__init__(parent)
        self.cache = cache if cache is not None else ThumbnailCache()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._pending: set[str] = set()
        self._order = itertools.count()

    def request(self, path: str) -> None:
        if path not in self._pending:
            self._pending.add(path)
            cache = self.cache
            self._pool.start(
                lambda: self.loaded.emit(path, load_thumbnail(Path(path), cache)),
                min(next(self._order), 2**31 - 1),
            )

    def done(self, path: str) -> None:
        self._pending.discard(path)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def close(self) -> None:
        """Drop what has not started and wait for what has (each decode is milliseconds)."""
        self._pool.clear()
        self._pending.clear()
        self._pool.waitForDone(5_000)
