"""PNG Info: what a picture file says about how it was made, read off the GUI thread.

A dropped picture (from a file manager, a browser, another tool's output folder) is read
on a small thread pool: its pixels, our own recipe if it has one, else what another
tool wrote (engine.store.foreign). The result arrives on the GUI thread as a signal, and
the window shows it on the canvas and in the details dock. Nothing here changes Create:
*Use these parameters* is a separate step (gui/use_parts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from engine.store import ImageMetadata, read_metadata
from engine.store.foreign import ForeignRead, read_picture
from engine.store.metadata import EXTERNAL_KIND
from gui.image_loader import read_image

# The readers' tool names, as their users call them.
TOOL_TITLES = {
    "a1111": "AUTOMATIC1111",
    "forge": "Forge",
    "comfyui": "ComfyUI",
    "invokeai": "InvokeAI",
    "fooocus": "Fooocus",
    "swarmui": "SwarmUI",
    "novelai": "NovelAI",
    "draw-things": "Draw Things",
    "krita-ai-diffusion": "Krita AI Diffusion",
    "latent-studio": "Latent Studio (A1111 text only)",
}


def tool_title(tool: str) -> str:
    return TOOL_TITLES.get(tool, tool or "an unknown tool")


@dataclass(frozen=True)
class PictureInfo:
    """One picture file, read: `meta` always (size at least), `foreign` when it carries
    no recipe of ours (what another tool wrote, or why nothing could be read)."""

    path: Path
    meta: ImageMetadata
    foreign: ForeignRead | None = None

    @property
    def ours(self) -> bool:
        return self.meta.recipe is not None


def read_picture_info(path: Path) -> PictureInfo:
    """Read a picture's metadata from disk (call it off the GUI thread on moves).
    Never raises on a picture's contents: a file that cannot be read says so."""
    path = Path(path)
    try:
        meta = read_metadata(path)
    except (OSError, ValueError):
        meta = ImageMetadata(path=path, width=0, height=0, kind=EXTERNAL_KIND)
    if meta.recipe is not None:
        return PictureInfo(path, meta)
    foreign = read_picture(path)
    if foreign.pixels and not meta.width:
        meta = ImageMetadata(path, *foreign.pixels, kind=EXTERNAL_KIND)
    return PictureInfo(path, meta, foreign)


class PictureReader(QObject):
    """Reads dropped pictures on a pool thread; `read` arrives on the GUI thread."""

    read = Signal(object, QImage)  # PictureInfo, the picture's pixels (null if unreadable)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one drop at a time, in the order dropped

    def open(self, path: Path) -> None:
        self._pool.start(lambda: self._read(Path(path)))

    def _read(self, path: Path) -> None:
        # On the pool thread: the signal is queued to the GUI thread by Qt.
        info = read_picture_info(path)
        self.read.emit(info, read_image(str(path)))

    def wait(self, ms: int = 5_000) -> bool:
        """Until the reads under way are done (closing, tests)."""
        return self._pool.waitForDone(ms)


class ForeignReader(QObject):
    """What another tool wrote into a shown picture, read on a pool thread: the gallery
    is walked with the arrow keys, and a ComfyUI graph is not read on the GUI thread."""

    read = Signal(object)  # PictureInfo

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def open(self, path: Path) -> None:
        self._pool.start(lambda: self.read.emit(read_picture_info(path)))
