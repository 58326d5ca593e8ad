"""Gallery: every result on disk, newest first, as thumbnails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
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
from engine.store import StoreError, can_undo_delete
from gui.export_dialog import ContactSheetDialog, ExportDialog
from gui.gallery_model import PAGE, THUMB, GalleryModel, PathRole
from gui.gallery_search import GallerySearcher
from gui.gallery_search_bar import SearchBar
from gui.gallery_select import PathSelector
from gui.gallery_sync import GallerySync
from gui.mark_actions import Marker, board_actions, star_actions
from gui.mode_panel import ModePanel
from gui.reveal import reveal_in_folder
from gui.send_menu import send_to_menu

WATCH_SETTLE_MS = 400  # after the folder changes, wait this long for quiet before a sync
_ON_VIEW = Qt.ShortcutContext.WidgetShortcut  # the grid's keys act on its selection
LAYOUT_BATCH = 1_000  # rows laid out per event-loop turn (a few milliseconds)


class GalleryPanel(QWidget, ModePanel):
    """The thumbnail grid. Arrow keys move (the canvas follows), Enter opens, Delete
    moves to the trash (with Undo where the platform allows, else after asking)."""

    title = "Gallery"
    generates = False
    open_requested = Signal(str)
    current_changed = Signal(str)  # the image under the keyboard/mouse selection
    deleted = Signal(object)  # list of engine.store.Trashed, for Undo
    failed = Signal(str)  # a sentence for the user
    mark_failed = Signal(str)  # stars or a board could not be written: why
    notice = Signal(str)  # something the user should know (the index was rebuilt…)
    upscale_requested = Signal(list)  # paths of the selected images
    send_to_requested = Signal(str, str)  # a path, and how Create starts from it

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
        # Laid out a batch at a time between events: 100,000 rows never stall a paint.
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(LAYOUT_BATCH)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.activated.connect(self._open_index)
        self.view.doubleClicked.connect(self._open_index)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.searcher = GallerySearcher(self)
        self.marker = Marker(self.searcher, lambda: self.model.store, self)

        open_action = QAction("Open", self.view)
        open_action.triggered.connect(self._open_current)
        upscale_action = QAction("Upscale…", self.view)
        upscale_action.setToolTip("Add the selected images to the Upscale list")
        upscale_action.triggered.connect(self._upscale_selected)
        self.send_menu = send_to_menu(self.view, self._send_current)
        reveal_action = QAction("Show in Folder", self.view)
        reveal_action.triggered.connect(self._reveal_current)
        export_action = QAction("Export…", self.view)
        export_action.triggered.connect(self.export_selected)
        sheet_action = QAction("Contact Sheet…", self.view)
        sheet_action.triggered.connect(self.contact_sheet_selected)
        trash_action = QAction("Move to Trash", self.view)
        trash_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        trash_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        trash_action.triggered.connect(self.delete_selected)
        self.rescan_action = QAction("Rescan Folder", self)
        self.rescan_action.setToolTip("Look for images added to or removed from the output folder")
        self.rescan_action.triggered.connect(self.sync)
        self.view.addActions(
            [
                open_action,
                upscale_action,
                self.send_menu.menuAction(),
                reveal_action,
                export_action,
                sheet_action,
                trash_action,
                self.rescan_action,
                *self._star_actions(),
                *self._board_actions(),
            ]
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
        self.search_bar = SearchBar()
        self.marker.boards_read.connect(self.search_bar.filters.set_boards)
        self.searcher.changed.connect(self.marker.fetch_boards)
        self.search_bar.query_changed.connect(lambda _text: self.relist())  # off the GUI thread
        self.searcher.answered.connect(self._found)
        self.searcher.first_page.connect(self._found_first)
        self._counting = 0  # the search whose first page is shown, its count to come
        self.searcher.refused.connect(self._refused)
        self.selector = PathSelector(self.view, self.model, self.searcher, lambda: self.query)
        self.selector.followed.connect(self.current_changed)
        self.searcher.changed.connect(self.relist)
        self.searcher.failed.connect(self.mark_failed)
        layout.addWidget(self.search_bar)
        layout.addLayout(header)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.view, 1)
        self.model.modelReset.connect(self._update_labels)
        self.model.rowsInserted.connect(self._update_labels)
        self.model.rowsRemoved.connect(self._update_labels)

        self.syncer = GallerySync(self)
        self._sync_again = False
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
        self.relist()  # what the index holds now; the sync's changes follow
        self.sync()

    @property
    def store(self) -> Gallery:
        return self.model.store

    def sync(self) -> None:
        """Bring the index in line with the folder, in the background. Asked while one
        runs (the watcher fired, Rescan), another runs after it: the running one may
        have listed the folder before the change."""
        if self.syncer.running:
            self._sync_again = True
        else:
            self._sync_again = False
            self.syncer.start(self.model.store)

    def _sync_progress(self, done: int, total: int) -> None:
        self.status_label.setText(f"Indexing {done:,} of {total:,} new images…")

    def _synced(self, store: Gallery, folders: list[Path]) -> None:
        if store is not self.model.store:
            return  # the output folder changed meanwhile
        self.relist()
        self.marker.fetch_boards()  # the filter row's boards (a rebuild may have found some)
        self._watch(folders)
        if self._sync_again:
            self.sync()
        if store.notice:
            self.notice.emit(store.notice)
            store.notice = None

    def _watch(self, folders: list[Path]) -> None:
        """Watch the folders the sync worker listed (the GUI thread does not list them)."""
        stale = [d for d in self.watcher.directories() if Path(d) not in folders]
        if stale:
            self.watcher.removePaths(stale)
        new = [str(f) for f in folders if str(f) not in self.watcher.directories()]
        if new:
            self.watcher.addPaths(new)

    def refresh(self) -> None:
        """List the gallery again (the tab opened, a delete, Undo, a job saved): every
        image, or what the search matches, read off the GUI thread like a scroll's pages;
        the grid keeps its rows, and the current image its selection, until it comes."""
        self.relist()

    def relist(self) -> None:
        """List again after a change made elsewhere (a sync, stars): the first page and
        the count are read off the GUI thread, so a big gallery never stalls for it."""
        self.searcher.search(self.model.store, self.search_bar.text, PAGE)

    @property
    def query(self) -> str:
        return self.search_bar.text

    def set_query(self, text: str) -> None:
        self.search_bar.set_text(text)

    def _found_first(self, generation: int, query: str, items: list) -> None:
        """A search's first page, shown while its matches are counted."""
        if generation == self.searcher.generation and query == self.search_bar.text:
            self._found(generation, query, items, len(items))
            self._counting = generation

    def _found(self, generation: int, query: str, items: list, total: int) -> None:
        if generation != self.searcher.generation or query != self.search_bar.text:
            return  # typed over meanwhile: a newer answer is coming
        if generation == self._counting:
            self.model.set_total(total)  # its first page is shown: the rest follows
            return
        self.search_bar.show_problem(None)
        current = self.current_path()
        self.model.show_found(query, items, total)
        if current is not None and self.selector.wanted is None:  # else that one, next
            self.selector.select_loaded(current, follow=False)

    def _refused(self, generation: int, query: str, sentence: str) -> None:
        if generation == self.searcher.generation and query == self.search_bar.text:
            self.search_bar.show_problem(sentence)  # the grid keeps the last good rows

    # ------------------------------------------------------------ stars

    def _star_actions(self) -> list[QAction]:
        return star_actions(self.view, self._marked_paths, self.marker, _ON_VIEW)

    def _board_actions(self) -> list[QAction]:
        return board_actions(self.view, self._marked_paths, self.marker, _ON_VIEW)

    def add_to_board(self) -> None:
        """Ask which board (one already made, or a new name); add the selection to it."""
        self.marker.add_to_board(self._marked_paths(), self)

    def _marked_paths(self) -> list[str]:
        return self.selected_paths() or [p for p in [self.current_path()] if p]

    def set_stars(self, stars: int) -> None:
        """Stars on the selection (or the current image), written off the GUI thread."""
        self.marker.set_stars(self._marked_paths(), stars)

    # ------------------------------------------------------------ selection

    def current_path(self) -> str | None:
        index = self.view.currentIndex()
        return index.data(PathRole) if index.isValid() else None

    def select_path(
        self, path: str, follow: bool = True, otherwise: Callable[[], None] | None = None
    ) -> bool:
        """Select `path` (`follow`: the canvas follows). True when its row is loaded and
        it is selected now; else its row is asked of the index off the GUI thread, and
        it is selected and scrolled to when the answer comes, or `otherwise` is called
        if the listing does not hold it (gui/gallery_select.py)."""
        return self.selector.select(path, follow, otherwise)

    def selected_paths(self) -> list[str]:
        indexes = self.view.selectionModel().selectedIndexes()
        return [p for i in indexes if (p := i.data(PathRole)) is not None]  # not yet read

    def _current_changed(self, current, _previous) -> None:
        if current.isValid() and (path := current.data(PathRole)) is not None:
            self.current_changed.emit(path)

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
        # A search's rows come back later, off the GUI thread: the deleted leave now.
        self.model.forget([str(t.original) for t in trashed])
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
        self.marker.fetch_boards()  # the filter row's board list, read off the GUI thread
        self.view.setFocus()

    def close_loader(self) -> None:
        self._settle.stop()
        self.searcher.close()
        self.marker.reader.wait(5_000)
        self.syncer.stop()
        self.model.close_loader()

    def _open_index(self, index) -> None:
        if (path := index.data(PathRole)) is not None:  # None: its row is still being read
            self.open_requested.emit(path)

    def _open_current(self) -> None:
        if (path := self.current_path()) is not None:
            self.open_requested.emit(path)

    def _upscale_selected(self) -> None:
        paths = self.selected_paths() or [p for p in [self.current_path()] if p]
        if paths:
            self.upscale_requested.emit(paths)

    def _send_current(self, kind: str) -> None:
        if (path := self.current_path()) is not None:
            self.send_to_requested.emit(path, kind)

    def export_selected(self) -> ExportDialog | None:
        """Export… the selection (or the current image): folder, metadata, format."""
        if paths := self._marked_paths():
            dialog = ExportDialog(paths, parent=self)
            dialog.open()
            return dialog
        return None

    def contact_sheet_selected(self) -> ContactSheetDialog | None:
        if paths := self._marked_paths():
            dialog = ContactSheetDialog(paths, self.model.store, parent=self)
            dialog.open()
            return dialog
        return None

    def _reveal_current(self) -> None:
        if (path := self.current_path()) is not None:
            reveal_in_folder(Path(path), self)

    def _update_labels(self) -> None:
        total = self.model.total
        if self.model.query:
            self.empty_label.setVisible(False)
            self.status_label.setText(f"{total:,} match{'es' if total != 1 else ''}")
            return
        self.empty_label.setVisible(total == 0)
        sources = len(self.model.store.source_folders)
        also = f" and {sources} source folder{'s' if sources != 1 else ''}" if sources else ""
        self.status_label.setText(
            f"{total:,} image{'s' if total != 1 else ''} in {self.model.store.root}{also}"
        )
