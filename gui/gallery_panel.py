"""Gallery: every result on disk, newest first, as thumbnails."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QImage, QImageReader, QKeySequence, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QVBoxLayout, QWidget

from engine.store import GalleryItem, GalleryStore

THUMB = 128
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


class GalleryModel(QAbstractListModel):
    def __init__(self, store: GalleryStore) -> None:
        super().__init__()
        self.store = store
        self._items: list[GalleryItem] = []
        self._icons: dict[str, QIcon] = {}

    def set_store(self, store: GalleryStore) -> None:
        self.store = store
        self._icons.clear()
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        self._items = self.store.items()
        self.endResetModel()

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

    def _icon(self, item: GalleryItem) -> QIcon:
        key = str(item.path)
        if key not in self._icons:  # thumbnails are decoded only when first shown
            self._icons[key] = QIcon(QPixmap.fromImage(load_thumbnail(Path(item.path))))
        return self._icons[key]


class GalleryPanel(QWidget):
    open_requested = Signal(str)
    deleted = Signal(str)

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

    def set_store(self, store: GalleryStore) -> None:
        self.model.set_store(store)

    def refresh(self) -> None:
        self.model.refresh()

    def selected_paths(self) -> list[str]:
        return [i.data(PathRole) for i in self.view.selectionModel().selectedIndexes()]

    def delete_selected(self) -> None:
        for path in self.selected_paths():
            self.model.store.delete(Path(path))
            self.deleted.emit(path)
        self.refresh()

    def _open_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.open_requested.emit(index.data(PathRole))

    def _update_empty(self) -> None:
        self.empty_label.setVisible(self.model.rowCount() == 0)
