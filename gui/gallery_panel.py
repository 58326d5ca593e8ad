"""Gallery: every result on disk, newest first, as thumbnails."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QFileSystemWatcher,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QIcon,
    QImage,
    QImageReader,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.interface import Gallery
from engine.store import GalleryItem, StoreError, can_undo_delete
from gui.gallery_sync import GallerySync
from gui.mode_panel import ModePanel
from gui.reveal import reveal_in_folder

THUMB = 128
PAGE = 300  # rows listed at a time: a first screen of a 10,000-image gallery is instant
WATCH_SETTLE_MS = 400  # after the folder changes, wait this long for quiet before a sync
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


class GalleryPanel(QWidget, ModePanel):
    """The thumbnail grid. Arrow keys move (the canvas follows), Enter opens, Delete
    moves to the trash (with Undo where the platform allows, else after asking)."""

    title = "Gallery"
    generates = False
    open_requested = Signal(str)
    current_changed = Signal(str)  # the image under the keyboard/mouse selection
    deleted = Signal(object)  # list of engine.store.Trashed, for Undo
    failed = Signal(str)  # a sentence for the user
    notice = Signal(str)  # something the user should know (the index was rebuilt…)
    upscale_requested = Signal(list)  # paths of the selected images

    def __init__(self, store: Gallery, parent: QWidget | None = None) -> None:
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
        self.view.activated.connect(lambda index: self.open_requested.emit(index.data(PathRole)))
        self.view.doubleClicked.connect(
            lambda index: self.open_requested.emit(index.data(PathRole))
        )
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        open_action = QAction("Open", self.view)
        open_action.triggered.connect(self._open_current)
        upscale_action = QAction("Upscale…", self.view)
        upscale_action.setToolTip("Add the selected images to the Upscale list")
        upscale_action.triggered.connect(self._upscale_selected)
        reveal_action = QAction("Show in Folder", self.view)
        reveal_action.triggered.connect(self._reveal_current)
        trash_action = QAction("Move to Trash", self.view)
        trash_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        trash_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        trash_action.triggered.connect(self.delete_selected)
        self.rescan_action = QAction("Rescan Folder", self)
        self.rescan_action.setToolTip("Look for images added to or removed from the output folder")
        self.rescan_action.triggered.connect(self.sync)
        self.view.addActions(
            [open_action, upscale_action, reveal_action, trash_action, self.rescan_action]
        )

        self.empty_label = QLabel("Nothing here yet: generated images appear here.")
        self.empty_label.setStyleSheet("color: #8a8a8a;")
        self.status_label = QLabel()
        self.status_label.setStyleSheet("color: #8a8a8a;")
        rescan = QToolButton()
        rescan.setDefaultAction(self.rescan_action)
        header = QHBoxLayout()
        header.addWidget(self.status_label, 1)
        header.addWidget(rescan)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.view, 1)
        self.model.modelReset.connect(self._update_labels)
        self.model.rowsInserted.connect(self._update_labels)

        self.syncer = GallerySync(self)
        self.syncer.finished.connect(self._synced)
        self.syncer.progress.connect(self._sync_progress)
        # Files added or removed by other programs: watch the folder, sync when it settles.
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _path: self._settle.start())
        self._settle = QTimer(self, singleShot=True, interval=WATCH_SETTLE_MS)
        self._settle.timeout.connect(self.sync)

    # ------------------------------------------------------------ the store

    def set_store(self, store: Gallery) -> None:
        self.syncer.stop()
        self.model.set_store(store)
        self.sync()

    @property
    def store(self) -> Gallery:
        return self.model.store

    def sync(self) -> None:
        """Bring the index in line with the folder, in the background."""
        if not self.syncer.running:
            self.syncer.start(self.model.store)

    def _sync_progress(self, done: int, total: int) -> None:
        self.status_label.setText(f"Indexing {done:,} of {total:,} new images…")

    def _synced(self, store: Gallery) -> None:
        if store is not self.model.store:
            return  # the output folder changed meanwhile
        self.refresh()
        self._watch(store.root)
        if store.notice:
            self.notice.emit(store.notice)
            store.notice = None

    def _watch(self, root: Path) -> None:
        try:
            folders = [root] + (
                [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
                if root.is_dir()
                else []
            )
        except (OSError, ValueError):
            # An output folder the system cannot even look at (a name too long, no
            # permission): the store has said why; there is nothing to watch.
            folders = []
        stale = [d for d in self.watcher.directories() if Path(d) not in folders]
        if stale:
            self.watcher.removePaths(stale)
        new = [str(f) for f in folders if str(f) not in self.watcher.directories() and f.is_dir()]
        if new:
            self.watcher.addPaths(new)

    def refresh(self) -> None:
        current = self.current_path()
        self.model.refresh()
        if current is not None:
            self.select_path(current, follow=False)

    # ------------------------------------------------------------ selection

    def current_path(self) -> str | None:
        index = self.view.currentIndex()
        return index.data(PathRole) if index.isValid() else None

    def select_path(self, path: str, follow: bool = True) -> bool:
        row = self.model.row_of(path)
        if row is None:
            return False
        index = self.model.index(row, 0)
        if not follow:
            self.view.selectionModel().blockSignals(True)
        self.view.setCurrentIndex(index)
        self.view.selectionModel().blockSignals(False)
        return True

    def selected_paths(self) -> list[str]:
        return [i.data(PathRole) for i in self.view.selectionModel().selectedIndexes()]

    def _current_changed(self, current, _previous) -> None:
        if current.isValid():
            self.current_changed.emit(current.data(PathRole))

    # ------------------------------------------------------------ actions

    def delete_selected(self) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        if not can_undo_delete() and not self._confirm_delete(len(paths)):
            return
        rows = [r for r in (self.model.row_of(p) for p in paths) if r is not None]
        trashed = []
        for path in paths:
            try:
                trashed.append(self.model.store.delete(Path(path)))
            except StoreError as exc:
                self.failed.emit(exc.message)
                break
        self.refresh()
        if trashed:
            self.deleted.emit(trashed)
            self._select_after_delete(min(rows, default=0))

    def _select_after_delete(self, row: int) -> None:
        """The image that took the deleted one's place is selected (the last one if the
        end was deleted), and the canvas follows: arrow keys and Delete go on from there."""
        total = self.model.rowCount()
        if total:
            self.view.setCurrentIndex(self.model.index(min(row, total - 1), 0))

    def _confirm_delete(self, count: int) -> bool:
        images = "this image" if count == 1 else f"these {count} images"
        answer = QMessageBox.question(
            self,
            "Move to Trash",
            f"Move {images} to the trash?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def activated(self) -> None:
        self.refresh()
        self.view.setFocus()

    def close_loader(self) -> None:
        self._settle.stop()
        self.syncer.stop()
        self.model.close_loader()

    def _open_current(self) -> None:
        if (path := self.current_path()) is not None:
            self.open_requested.emit(path)

    def _upscale_selected(self) -> None:
        paths = self.selected_paths() or [p for p in [self.current_path()] if p]
        if paths:
            self.upscale_requested.emit(paths)

    def _reveal_current(self) -> None:
        if (path := self.current_path()) is not None:
            reveal_in_folder(Path(path), self)

    def _update_labels(self) -> None:
        total = self.model.total
        self.empty_label.setVisible(total == 0)
        self.status_label.setText(
            f"{total:,} image{'s' if total != 1 else ''} in {self.model.store.root}"
        )
