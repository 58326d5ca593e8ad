"""The details dock's lineage row: "Made from" and "Made into" as small thumbnails.

A picture's parents (the image it was upscaled from, the source of an image to image,
its mask…) and its children come from the gallery (engine.store.lineage), fetched with
their thumbnails on a pool thread: the GUI thread never reads the index or a file when
the selection moves. An answer for a picture no longer shown is dropped. A deleted
parent is a grey tile with its file name; a changed one says "changed since". Clicking
a tile opens that picture; "Show family" searches the gallery for `family:…`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.store.lineage import AS_CHILD, CHANGED, DELETED, Lineage, Relative
from gui.image_loader import read_thumbnail

THUMB = 56  # px, the longer side of a tile's picture
MAX_TILES = 12  # per row; "and N more" after them (a picture upscaled 200 times)
Fetch = Callable[[Path], Lineage]


def family_query(path: Path, root: Path | None) -> str:
    """The gallery search that shows `path`'s whole family (its key when in the root)."""
    with contextlib.suppress(ValueError, TypeError):
        path = Path(path).relative_to(root)
    text = Path(path).as_posix().replace('"', "")
    return f'family:"{text}"'


def fetch_with_thumbnails(fetch: Fetch, path: Path) -> tuple[Lineage, dict[str, QImage]]:
    """Off the GUI thread: the lineage, and a thumbnail of each relative still there."""
    try:
        lineage = fetch(path)
    except Exception:  # noqa: BLE001 - any engine's failure: the row stays empty
        return Lineage(path), {}
    thumbs: dict[str, QImage] = {}
    for relative in (*lineage.parents[:MAX_TILES], *lineage.children[:MAX_TILES]):
        if relative.state != DELETED and str(relative.path) not in thumbs:
            thumbs[str(relative.path)] = read_thumbnail(str(relative.path), THUMB)[0]
    return lineage, thumbs


class _Fetcher(QObject):
    done = Signal(int, object, dict)  # token, Lineage, {path: QImage}

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)

    def start(self, token: int, fetch: Fetch, path: Path) -> None:
        self.pool.clear()  # a fetch for a picture passed over is not started at all
        self.pool.start(lambda: self.done.emit(token, *fetch_with_thumbnails(fetch, path)))


class LineageRow(QWidget):
    open_requested = Signal(str)  # a relative's path
    family_requested = Signal(str)  # the gallery search that shows the family

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fetch: Fetch | None = None
        self.root: Callable[[], Path] | None = None
        self.lineage: Lineage | None = None
        self.token = 0
        self._fetcher = _Fetcher(self)
        self._fetcher.done.connect(self._arrived)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)
        self.family_button = QPushButton("Show family")
        self.family_button.setToolTip(
            "Show in the gallery this picture, what it was made from and what was made from it"
        )
        self.family_button.clicked.connect(self._show_family)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(self.grid)
        layout.addWidget(self.family_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.setVisible(False)

    def set_source(self, fetch: Fetch | None, root: Callable[[], Path] | None = None) -> None:
        """Where lineages come from (the engine's gallery), and its folder (asked when
        a family is shown: the output folder can change)."""
        self.fetch, self.root = fetch, root

    def show_for(self, path: Path | None) -> None:
        """The lineage of the picture at `path` follows (None: nothing is shown)."""
        self.token += 1
        same = path is not None and self.lineage is not None and self.lineage.path == path
        if not same:  # the same picture again (its stars changed) keeps its tiles meanwhile
            self.lineage = None
            self._clear()
            self.setVisible(False)
        if path is not None and self.fetch is not None:
            self._fetcher.start(self.token, self.fetch, Path(path))

    def wait(self, timeout_ms: int = -1) -> bool:
        """Tests: until the fetch in flight has finished."""
        return self._fetcher.pool.waitForDone(timeout_ms)

    def close_fetcher(self) -> None:
        self._fetcher.pool.clear()
        self._fetcher.pool.waitForDone(10_000)

    def _arrived(self, token: int, lineage: Lineage, thumbs: dict) -> None:
        if token != self.token:
            return  # another picture is shown now
        self.lineage = lineage
        self._clear()
        for i, (title, relatives) in enumerate(
            (("Made from", lineage.parents), ("Made into", lineage.children))
        ):
            words = (lambda role: role) if i == 0 else (lambda role: AS_CHILD.get(role, role))
            name = QLabel(f"<b>{title}</b>")
            name.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            self.grid.addWidget(name, i, 0)
            self.grid.addWidget(self._tiles(relatives, thumbs, words), i, 1)
        self.setVisible(bool(lineage.parents or lineage.children))

    def _tiles(
        self, relatives: tuple[Relative, ...], thumbs: dict, words: Callable[[str], str]
    ) -> QWidget:
        strip = QWidget()
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 0, 0)
        if not relatives:
            row.addWidget(QLabel("nothing"))
        for relative in relatives[:MAX_TILES]:
            row.addWidget(
                self._tile(relative, thumbs.get(str(relative.path)), words(relative.role))
            )
        if len(relatives) > MAX_TILES:
            row.addWidget(QLabel(f"and {len(relatives) - MAX_TILES} more"))
        row.addStretch(1)
        return strip

    def _tile(self, relative: Relative, thumb: QImage | None, role: str) -> QToolButton:
        tile = QToolButton()
        tile.setObjectName(f"lineage-{relative.state}")
        tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        tile.setIconSize(QSize(THUMB, THUMB))
        tile.setAutoRaise(True)
        words = {DELETED: "deleted", CHANGED: "changed since"}.get(relative.state, "")
        tile.setText("\n".join(w for w in (role, words) if w))
        tile.setToolTip(
            f"{relative.path}\n{role}"
            + (f": {words}" if words else "")
            + ("" if relative.state == DELETED else "\nClick to open it")
        )
        if relative.state == DELETED:
            tile.setText(f"{_short(relative.name)}\n{role}\ndeleted")
            tile.setStyleSheet("color: #8a8a8a; background: #3a3a3a;")
            tile.setEnabled(False)
        elif thumb is not None and not thumb.isNull():
            tile.setIcon(QPixmap.fromImage(thumb))
        if relative.state != DELETED:
            tile.clicked.connect(lambda: self.open_requested.emit(str(relative.path)))
        return tile

    def _show_family(self) -> None:
        if self.lineage is not None:
            root = self.root() if self.root is not None else None
            self.family_requested.emit(family_query(self.lineage.path, root))

    def _clear(self) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()


def _short(name: str, most: int = 18) -> str:
    return name if len(name) <= most else name[: most - 1] + "…"
