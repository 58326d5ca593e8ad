"""The gallery's list model: the index's rows a page at a time, newest first, with
thumbnails decoded off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPixmap

from engine.interface import Gallery
from engine.store import GalleryItem

THUMB = 128
PAGE = 300  # rows listed at a time: a first screen of a 10,000-image gallery is instant
PathRole = Qt.ItemDataRole.UserRole


def load_thumbnail(path: Path, size: int = THUMB) -> QImage:
    """Decode at thumbnail size; tiny images are enlarged with crisp pixels."""
    reader = QImageReader(str(path))
    source = reader.size()
    if source.isValid() and max(source.width(), source.height()) > size:
        reader.setScaledSize(source.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if not image.isNull() and max(image.width(), image.height()) < size:
        image = image.scaled(
            size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
        )
    return image


class ThumbnailLoader(QObject):
    """Decodes thumbnails on a small thread pool; the GUI thread only receives them.

    QImage (unlike QPixmap) may be built off the GUI thread; `loaded` is delivered to the
    GUI thread by Qt's queued connection.
    """

    loaded = Signal(str, QImage)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._pending: set[str] = set()

    def request(self, path: str) -> None:
        if path not in self._pending:
            self._pending.add(path)
            self._pool.start(lambda: self.loaded.emit(path, load_thumbnail(Path(path))))

    def done(self, path: str) -> None:
        self._pending.discard(path)

    def wait(self, timeout_ms: int = -1) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def close(self) -> None:
        """Drop what has not started and wait for what has (each decode is milliseconds)."""
        self._pool.clear()
        self._pool.waitForDone(5_000)


def _placeholder() -> QIcon:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor("#303030"))
    return QIcon(pixmap)


class GalleryModel(QAbstractListModel):
    def __init__(self, store: Gallery) -> None:
        super().__init__()
        self.store = store
        self.query = ""  # the search the rows answer ("" lists every image)
        self._total = 0
        self._items: list[GalleryItem] = []
        self._rows: dict[str, int] = {}
        self._icons: dict[str, QIcon] = {}
        self._placeholder = _placeholder()
        self._loader = ThumbnailLoader(self)
        self._loader.loaded.connect(self._on_thumbnail)

    def set_store(self, store: Gallery) -> None:
        self.store = store
        self._icons.clear()
        self.refresh()

    def refresh(self) -> None:
        """Every image, newest first (a search's rows come from show_found)."""
        self.query = ""
        self.show_found("", self.store.items(limit=PAGE), self.store.count())

    def show_found(self, query: str, items: list[GalleryItem], total: int) -> None:
        """The first page of what `query` matches (searched off the GUI thread)."""
        self.beginResetModel()
        self.query = query
        self._items = list(items)
        self._total = total
        self._rows = {str(item.path): row for row, item in enumerate(self._items)}
        self.endResetModel()

    def forget(self, paths: list[str]) -> None:
        """Drop the rows of files gone (deleted) until the next listing."""
        gone = set(paths)
        kept = [item for item in self._items if str(item.path) not in gone]
        if len(kept) != len(self._items):
            self.show_found(self.query, kept, self._total - (len(self._items) - len(kept)))

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and len(self._items) < self._total

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008, N802
        offset = len(self._items)
        more = (
            self.store.search(self.query, limit=PAGE, offset=offset)
            if self.query
            else self.store.items(limit=PAGE, offset=offset)
        )
        if not more:
            self._total = len(self._items)
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
        self._items.extend(more)
        self._rows.update({str(item.path): first + i for i, item in enumerate(more)})
        self.endInsertRows()

    @property
    def total(self) -> int:
        """Images in the gallery (listed or not yet)."""
        return self._total

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = item.prompt or item.model
            return f"{text}\nseed {item.seed} · {item.width}×{item.height}\n{item.path}"
        if role == PathRole:
            return str(item.path)
        return None

    def item_at(self, row: int) -> GalleryItem:
        return self._items[row]

    def row_of(self, path: str) -> int | None:
        """The row of an image, listing further pages until it is found."""
        while (row := self._rows.get(str(path))) is None and self.canFetchMore():
            self.fetchMore()
        return row

    def thumbnail_ready(self, row: int) -> bool:
        return str(self._items[row].path) in self._icons

    def wait_for_thumbnails(self) -> None:
        self._loader.wait()

    def close_loader(self) -> None:
        self._loader.close()

    def _icon(self, item: GalleryItem) -> QIcon:
        key = str(item.path)
        icon = self._icons.get(key)
        if icon is None:  # decoded only when first shown, off the GUI thread
            self._loader.request(key)
            return self._placeholder
        return icon

    def _on_thumbnail(self, path: str, image: QImage) -> None:
        self._loader.done(path)
        self._icons[path] = (
            QIcon(QPixmap.fromImage(image)) if not image.isNull() else self._placeholder
        )
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
