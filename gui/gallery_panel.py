"""Gallery: every result on disk, newest first, as thumbnails."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QImageReader, QKeySequence, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QVBoxLayout, QWidget

from engine.store import GalleryItem, GalleryStore, StoreError
from gui.gallery_sync import GallerySync
from gui.mode_panel import ModePanel

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
    def __init__(self, store: GalleryStore) -> None:
        super().__init__()
        self.store = store
        self._total = 0
        self._items: list[GalleryItem] = []
        self._rows: dict[str, int] = {}
        self._icons: dict[str, QIcon] = {}
        self._placeholder = _placeholder()
        self._loader = ThumbnailLoader(self)
        self._loader.loaded.connect(self._on_thumbnail)

    def set_store(self, store: GalleryStore) -> None:
        self.store = store
        self._icons.clear()
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        self._items = self.store.items(limit=PAGE)
        self._total = self.store.count()
        self._rows = {str(item.path): row for row, item in enumerate(self._items)}
        self.endResetModel()

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and len(self._items) < self._total

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: B008, N802
        more = self.store.items(limit=PAGE, offset=len(self._items))
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


class GalleryPanel(QWidget, ModePanel):
    title = "Gallery"
    generates = False
    open_requested = Signal(str)
    deleted = Signal(str)
    failed = Signal(str)  # a sentence for the user
    notice = Signal(str)  # something the user should know (the index was rebuilt…)

    def __init__(self, store: GalleryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = GalleryModel(store)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 12, THUMB + 12))
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.doubleClicked.connect(
            lambda index: self.open_requested.emit(index.data(PathRole))
        )
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        open_action = QAction("Open", self.view)
        open_action.triggered.connect(self._open_current)
        trash_action = QAction("Move to Trash", self.view)
        trash_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        trash_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        trash_action.triggered.connect(self.delete_selected)
        self.view.addActions([open_action, trash_action])

        self.empty_label = QLabel("Nothing here yet: generated images appear here.")
        self.empty_label.setStyleSheet("color: #8a8a8a;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.view, 1)
        self.model.modelReset.connect(self._update_empty)
        self.syncer = GallerySync(self)
        self.syncer.finished.connect(self._synced)

    def set_store(self, store: GalleryStore) -> None:
        self.syncer.stop()
        self.model.set_store(store)
        self.sync()

    def sync(self) -> None:
        """Bring the index in line with the folder, in the background."""
        self.syncer.start(self.model.store)

    def _synced(self, store: GalleryStore) -> None:
        if store is not self.model.store:
            return  # the output folder changed meanwhile
        self.refresh()
        if store.notice:
            self.notice.emit(store.notice)
            store.notice = None

    def refresh(self) -> None:
        self.model.refresh()

    def selected_paths(self) -> list[str]:
        return [i.data(PathRole) for i in self.view.selectionModel().selectedIndexes()]

    def delete_selected(self) -> None:
        for path in self.selected_paths():
            try:
                self.model.store.delete(Path(path))
            except StoreError as exc:
                self.failed.emit(exc.message)
                break
            self.deleted.emit(path)
        self.refresh()

    def activated(self) -> None:
        self.refresh()

    def close_loader(self) -> None:
        self.syncer.stop()
        self.model.close_loader()

    def _open_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.open_requested.emit(index.data(PathRole))

    def _update_empty(self) -> None:
        self.empty_label.setVisible(self.model.rowCount() == 0)
