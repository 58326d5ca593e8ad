"""Thumbnails kept on disk, so a big gallery scrolled again decodes 128-pixel files
instead of its full-size pictures.

A thumbnail's name is the sha1 of the picture's absolute path, size and mtime_ns: a
picture changed or replaced gets a new name, and the old thumbnail is pruned in time.
Thumbnails are lossless PNG (the pixels are Pillow's `Image.thumbnail` of the picture),
written atomically, two hex digits of fan-out per folder. The folder is bounded in
bytes: past the bound the least recently used thumbnails go (a hit touches its file).
A cached file that cannot be read is made again. No Qt here: the GUI's loader calls
`ThumbnailCache.thumbnail` on its worker threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from pathlib import Path

from PIL import Image

from engine.atomic import temp_path_for
from engine.hashing import default_cache_dir

SIZE = 128  # the longest side of a thumbnail, in pixels
MAX_BYTES = 512 << 20  # 100,000 small thumbnails are well under this
PRUNE_EVERY = 256  # writes between two looks at the folder's size
SUFFIX = ".png"


def default_thumbnail_dir() -> Path:
    """Beside the other caches (LATENTSTUDIO_CACHE_DIR, else the user's cache folder)."""
    return default_cache_dir() / "thumbnails"


def make_thumbnail(path: Path, size: int = SIZE) -> Image.Image:
    """The picture scaled down to fit size×size (never up), in RGB or RGBA."""
    with Image.open(path) as image:
        image.thumbnail((size, size))  # JPEGs are decoded at a fraction of their size
        mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
        return image.convert(mode)


class ThumbnailCache:
    """Thread-safe: several loader threads may ask at once (writes are atomic renames)."""

    def __init__(
        self, folder: Path | None = None, size: int = SIZE, max_bytes: int = MAX_BYTES
    ) -> None:
        self.folder = Path(folder) if folder is not None else default_thumbnail_dir()
        self.size = size
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._writes = 0

    def file_for(self, path: Path) -> Path:
        """Where the thumbnail of `path` as it is now lives (OSError if it is gone)."""
        path = Path(path).absolute()
        stat = path.stat()
        key = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{self.size}".encode(
            "utf-8", "surrogateescape"
        )
        digest = hashlib.sha1(key, usedforsecurity=False).hexdigest()
        return self.folder / digest[:2] / f"{digest}{SUFFIX}"

    def thumbnail(self, path: Path) -> Image.Image:
        """The thumbnail of `path`, from the cache or made (and kept) now.

        OSError or Pillow's errors propagate when the picture itself cannot be read."""
        cached = self.file_for(path)
        image = _read(cached)
        if image is not None:
            with contextlib.suppress(OSError):
                os.utime(cached)  # recently used: pruned last
            return image
        image = make_thumbnail(Path(path), self.size)
        self._keep(cached, image)
        return image

    def _keep(self, cached: Path, image: Image.Image) -> None:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)  # fast; thumbnails are small anyway
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            _write_without_fsync(cached, buffer.getvalue())
        except OSError:
            return  # a full or read-only cache folder: the thumbnail is still shown
        with self._lock:
            self._writes += 1
            due = self._writes % PRUNE_EVERY == 0
        if due:
            self.prune()

    def prune(self) -> int:
        """Remove the least recently used thumbnails until the folder is within its
        bound; returns how many were removed."""
        files = []
        for file in self.folder.glob(f"*/*{SUFFIX}"):
            with contextlib.suppress(OSError):
                stat = file.stat()
                files.append((stat.st_mtime_ns, stat.st_size, file))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, file in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                file.unlink()
                removed += 1
                total -= size
        return removed

    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.folder.glob(f"*/*{SUFFIX}"))


def _write_without_fsync(path: Path, data: bytes) -> None:
    """Whole or absent (a temp file renamed over it, as engine.atomic does), but not
    fsync'd: a thumbnail lost to a power cut is made again, and two fsyncs per
    thumbnail would slow a first scroll through a big gallery for nothing."""
    temp = temp_path_for(path)
    try:
        with open(temp, "xb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _read(cached: Path) -> Image.Image | None:
    """A cached thumbnail, or None when it is missing or cannot be decoded (made again)."""
    try:
        with Image.open(cached) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        return None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        with contextlib.suppress(OSError):
            cached.unlink()  # corrupt: the caller makes it again
        return None
