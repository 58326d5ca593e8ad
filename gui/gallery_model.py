"""The gallery's list model, virtualised: every row counted, pages read on demand.

rowCount is the whole listing (every image, or what the search matches); the rows
themselves come a page at a time from `PageFetcher`, off the GUI thread, when the view
first paints one of them; meanwhile the row shows a placeholder. The pages loaded and
the thumbnails decoded are each bounded (least recently used go first), so scrolling
through 100,000 pictures keeps memory flat. Thumbnails come from the disk cache
(engine.store.thumbnails) through `ThumbnailLoader`'s threads.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from engine.interface import Gallery
from engine.store import GalleryItem
from gui.gallery_pages import PAGE, PageFetcher
from gui.gallery_thumbs import THUMB, ThumbnailLoader, load_thumbnail

__all__ = ["PAGE", "THUMB", "GalleryModel", "PathRole", "load_thumbnail"]

PathRole = Qt.ItemDataRole.UserRole
MAX_PAGES = 64  # pages kept (19,200 rows): a screen's worth many times over
MAX_ICONS = 3_000  # decoded thumbnails kept (about 200 MB at most)
INTAKE_S = 0.004  # GUI-thread time per event-loop turn for taking thumbnails in
_ROOT = QModelIndex()
_ROLES = frozenset({Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole, PathRole})


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
        self._pages: OrderedDict[int, list[GalleryItem]] = OrderedDict()
        self._asked: set[int] = set()  # pages asked for and not yet here
        self._rows: dict[str, int] = {}  # path → row, for the pages loaded
        self._icons: OrderedDict[str, QIcon] = OrderedDict()
        self._placeholder = _placeholder()
        self._loader = ThumbnailLoader(self)
        self._loader.loaded.connect(self._on_thumbnail)
        self._arrived: deque[tuple[str, QImage]] = deque()
        self._intake = QTimer(self, singleShot=True, interval=0)
        self._intake.timeout.connect(self._take_thumbnails)
        self._fetcher = PageFetcher(self)
        self._fetcher.fetched.connect(self._on_page)

    def set_store(self, store: Gallery) -> None:
        """Another output folder: empty until the panel's listing of it arrives (read
        off the GUI thread)."""
        self.store = store
        self._icons.clear()
        self._reset("", 0, [])

    # ------------------------------------------------------------ listings

    def refresh(self) -> None:
        """Every image, newest first: the first page and the count, read now, on the
        calling thread (tests; the panel lists through its searcher, off the GUI thread,
        and its answers arrive by show_found)."""
        self.show_found("", self.store.items(limit=PAGE), self.store.count())

    def show_found(self, query: str, items: list[GalleryItem], total: int) -> None:
        """A new listing: its first rows (read off the GUI thread) and how many match."""
        self._reset(query, total, [items] if items else [])

    def forget(self, paths: list[str]) -> None:
        """Drop the rows of files gone (deleted) until the next listing arrives."""
        gone = set(paths)
        loaded: list[GalleryItem] = []
        for page in range(len(self._pages)):  # the pages loaded from the top, unbroken
            if page not in self._pages:
                break
            loaded.extend(self._pages[page])
        kept = [item for item in loaded if str(item.path) not in gone]
        if len(kept) == len(loaded):
            return
        total = self._total - (len(loaded) - len(kept))
        chunks = [kept[at : at + PAGE] for at in range(0, len(kept), PAGE)]
        if chunks and len(chunks[-1]) < PAGE and len(kept) < total:
            chunks.pop()  # a short page in the middle would misplace the rows after it
        self._reset(self.query, total, chunks)

    def _reset(self, query: str, total: int, pages: list[list[GalleryItem]]) -> None:
        self.beginResetModel()
        self._fetcher.generation += 1  # answers for the old listing are dropped
        self.query = query
        self._total = total
        self._pages.clear()
        self._asked.clear()
        self._rows.clear()
        for number, items in enumerate(pages):
            self._put_page(number, list(items))
        self.endResetModel()

    def set_total(self, total: int) -> None:
        """The count of the listing shown, known now (its first page came before it)."""
        if total > self._total:
            self.beginInsertRows(_ROOT, self._total, total - 1)
            self._total = total
            self.endInsertRows()
        elif total < self._total:
            self.beginRemoveRows(_ROOT, total, self._total - 1)
            self._total = total
            self.endRemoveRows()

    @property
    def total(self) -> int:
        """Images in the listing (loaded or not yet)."""
        return self._total

    # ------------------------------------------------------------ Qt's side

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else self._total

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0):
        # Painting asks each row for about ten roles; the ones not shown return at once.
        if role not in _ROLES or not index.isValid():
            return None
        item = self.item_at(index.row())
        if item is None:  # its page is on the way
            return self._placeholder if role == Qt.ItemDataRole.DecorationRole else None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = item.prompt or item.model
            return f"{text}\nseed {item.seed} · {item.width}×{item.height}\n{item.path}"
        if role == PathRole:
            return str(item.path)
        return None

    # ------------------------------------------------------------ rows

    def item_at(self, row: int) -> GalleryItem | None:
        """The image at `row`, or None while its page is read (asked for now)."""
        if not 0 <= row < self._total:
            return None
        number, at = divmod(row, PAGE)
        page = self._pages.get(number)
        if page is None:
            self._ask(number)
            return None
        self._pages.move_to_end(number)
        return page[at] if at < len(page) else None

    def row_of(self, path: str) -> int | None:
        """The row of an image among the pages loaded (the newest are loaded first)."""
        return self._rows.get(str(path))

    def loaded_rows(self) -> int:
        return sum(len(page) for page in self._pages.values())

    def _ask(self, number: int) -> None:
        if number not in self._asked:
            self._asked.add(number)
            self._fetcher.fetch(self.store, self.query, self._fetcher.generation, number)

    def _on_page(self, generation: int, number: int, items: list[GalleryItem]) -> None:
        if generation != self._fetcher.generation:
            return
        self._asked.discard(number)
        if not items:
            return  # fewer rows than counted (deleted meanwhile): the next listing says
        self._put_page(number, items)
        first = number * PAGE
        last = min(first + len(items), self._total) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, 0))

    def _put_page(self, number: int, items: list[GalleryItem]) -> None:
        self._pages[number] = items
        self._pages.move_to_end(number)
        first = number * PAGE
        self._rows.update({str(item.path): first + i for i, item in enumerate(items)})
        while len(self._pages) > MAX_PAGES:
            _old, evicted = self._pages.popitem(last=False)
            for item in evicted:
                self._rows.pop(str(item.path), None)

    # ------------------------------------------------------------ thumbnails

    def thumbnail_ready(self, row: int) -> bool:
        item = self.item_at(row)
        return item is not None and str(item.path) in self._icons

    def wait_for_thumbnails(self) -> None:
        self._loader.wait()

    def wait_for_pages(self, timeout_ms: int = -1) -> bool:
        return self._fetcher.wait(timeout_ms)

    def close_loader(self) -> None:
        self._fetcher.close()
        self._loader.close()
        self._intake.stop()
        self._arrived.clear()

    def _icon(self, item: GalleryItem) -> QIcon:
        key = str(item.path)
        icon = self._icons.get(key)
        if icon is None:  # decoded only when first shown, off the GUI thread
            self._loader.request(key)
            return self._placeholder
        self._icons.move_to_end(key)
        return icon

    def _on_thumbnail(self, path: str, image: QImage) -> None:
        self._arrived.append((path, image))
        if not self._intake.isActive():
            self._intake.start()

    def _take_thumbnails(self) -> None:
        """Thumbnails that arrived, taken in for at most INTAKE_S per event-loop turn
        and shown by one update: after a fast scroll dozens arrive at once, and taking
        them all in one turn would stall the scroll."""
        end = time.perf_counter() + INTAKE_S
        rows: list[int] = []
        while self._arrived and time.perf_counter() < end:
            path, image = self._arrived.popleft()
            self._loader.done(path)
            self._icons[path] = (
                QIcon(QPixmap.fromImage(image)) if not image.isNull() else self._placeholder
            )
            if (row := self._rows.get(path)) is not None:
                rows.append(row)
        while len(self._icons) > MAX_ICONS:
            self._icons.popitem(last=False)
        if rows:
            first, last = self.index(min(rows), 0), self.index(max(rows), 0)
            self.dataChanged.emit(first, last, [Qt.ItemDataRole.DecorationRole])
        if self._arrived:
            self._intake.start()
