"""The Upscale list of inputs: adding files and folders, removing them, and each row's
look as its image's job moves on.

Adding never looks at the disk on the GUI thread: files named as images (Add images…,
the gallery's Upscale, a drop of pictures) are added at once, and a gone one's job says
so in its row; an add with anything else in it (a folder, another file) is listed by a
reader thread, "Listing FOLDER…" shows on the list meanwhile, and its images come in
when the answer does. Adds are answered in the order they were made.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
)

from engine.api.imagefiles import IMAGE_SUFFIXES, expand_image_inputs, is_image_name
from gui.start_folders import Purpose, start_folder
from gui.store_reads import StoreReader
from gui.upscale.rows import THUMB, PathRole, placeholder_icon, render_row, square_icon
from gui.viewmodels.upscale import UpscaleEntry


class InputList(QListWidget):
    """The inputs, with a hint where the list is empty and a note while folders are listed."""

    listing = ""  # "Listing renders…" while a folder is read, else ""

    def set_listing(self, text: str) -> None:
        self.listing = text
        self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.count() and not self.listing:
            return
        painter = QPainter(self.viewport())
        painter.setPen(QColor("#8a8a8a"))
        area = self.viewport().rect().adjusted(8, 8, -8, -8)
        if self.count():  # under the rows' own text: at the bottom corner
            flags = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom
            painter.drawText(area, flags, self.listing)
            return
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        text = self.listing or "Drop images or folders here,\nor use Add images…"
        painter.drawText(area, flags, text)


class InputsMixin:
    """UpscalePanel's list of input images (a mixin: the panel owns the widgets)."""

    def _build_list(self) -> QListWidget:
        self._lister = StoreReader(self)  # folders listed off the GUI thread, in order
        self._listing: list[list[Path]] = []  # the adds being listed, oldest first
        self._cleared = 0  # Clear's count: a listing asked before a Clear is dropped
        self.list = InputList()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setMinimumHeight(140)
        # A long reason is cut with "…" (the tooltip and the line below the list say it all).
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.upscale_selected_action = QAction("Upscale Selected", self.list)
        self.upscale_selected_action.triggered.connect(self._upscale_selected)
        self.remove_action = QAction("Remove", self.list)
        self.remove_action.setShortcut(Qt.Key.Key_Delete)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.remove_action.triggered.connect(self.remove_selected)
        self.list.addActions([self.upscale_selected_action, self.remove_action])
        return self.list

    def _build_list_buttons(self) -> QHBoxLayout:
        self.add_button = QPushButton("Add images…")
        self.add_button.setToolTip("Choose image files (or drop files and folders on the list)")
        self.add_button.clicked.connect(self.choose_files)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        row = QHBoxLayout()
        row.addWidget(self.add_button, 1)
        row.addWidget(self.remove_button)
        row.addWidget(self.clear_button)
        return row

    def add_paths(self, paths: list[Path]) -> None:
        """Add files and the images of folders (those listed off the GUI thread first)."""
        paths = [Path(p) for p in paths]
        if not paths:
            return
        if self._listing or not all(is_image_name(p) for p in paths):
            self.list_then_add(paths)
        else:  # pictures only: nothing to list, and after any add still being listed
            self._add_listed(paths, paths, [])

    def list_then_add(self, paths: list[Path]) -> None:
        self._listing.append(paths)
        self._show_listing()
        cleared = self._cleared
        self._lister.read(
            lambda: expand_image_inputs(paths),
            lambda found: self._listed(paths, found, cleared),
            None,  # could not be listed (gone, not readable): said when it comes
        )

    def _listed(
        self, paths: list[Path], found: tuple[list[Path], list[Path]] | None, cleared: int
    ) -> None:
        """Back on the GUI thread with what an add's folders hold."""
        self._listing.remove(paths)
        self._show_listing()
        if cleared != self._cleared:
            return  # Clear was pressed while it was listed
        if found is None:
            names = ", ".join(p.name for p in paths if not is_image_name(p)) or paths[0].name
            self.notice.emit(f"{names} could not be listed: check that it exists and can be read.")
            return
        self._add_listed(paths, *found)

    def _show_listing(self) -> None:
        folders = [p.name for add in self._listing for p in add if not is_image_name(p)]
        self.list.set_listing(f"Listing {', '.join(folders)}…" if folders else "")

    def wait_for_listing(self) -> None:
        """Every folder listed (its answer is then delivered by the event loop)."""
        self._lister.wait()

    def _add_listed(self, paths: list[Path], files: list[Path], missing: list[Path]) -> None:
        """Add what was listed; say what was skipped; show the first."""
        added = self.inputs.add_listed(files, missing)
        for entry in added.entries:
            self.list.addItem(self._new_item(entry))
            self.loader.thumbnail(entry.path)
        if added.not_images or added.missing or added.duplicates:
            self.notice.emit(added.notice())
        first = added.entries[0].path if added.entries else self._known(paths)
        if first is not None:
            self.show_entry(first)
        self._update_buttons()

    def _known(self, paths: list[Path]) -> str | None:
        """The entry of a single path already in the list (Upscale on it again)."""
        entry = self.inputs.get(str(paths[0])) if len(paths) == 1 else None
        return entry.path if entry else None

    def choose_files(self) -> None:
        suffixes = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        folder = str(
            Path(self.inputs.entries[-1].path).parent
            if self.inputs.entries
            else start_folder(Purpose.OPEN_IMAGE)
        )
        dialog = QFileDialog(self, "Add images to upscale", folder, f"Images ({suffixes})")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.add_paths([Path(f) for f in files]))
        dialog.open()  # window-modal, not blocking
        self.file_dialog = dialog

    def remove_selected(self) -> None:
        paths = [item.data(PathRole) for item in self.list.selectedItems()]
        self.inputs.remove(paths)
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        if self._shown in paths:
            self._show_current_or_nothing()
        self._update_buttons()

    def clear(self) -> None:
        self._cleared += 1
        self.inputs.clear()
        self.list.clear()
        self._show_current_or_nothing()
        self._update_buttons()

    def _show_current_or_nothing(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.show_entry(item.data(PathRole))
        else:
            self._shown = None
            self.compare.set_images(None, None)
            self.info.clear()

    def _new_item(self, entry: UpscaleEntry) -> QListWidgetItem:
        item = QListWidgetItem(placeholder_icon(), "")
        item.setData(PathRole, entry.path)
        render_row(item, entry)
        return item

    def _item(self, path: str) -> QListWidgetItem | None:
        row = self.inputs.row_of(path)
        return self.list.item(row) if row is not None else None

    def _refresh_row(self, entry: UpscaleEntry) -> None:
        item = self._item(entry.path)
        if item is not None:
            render_row(item, entry)
        if entry.path == self._shown:
            self._show_info(entry)

    def _thumbnail_loaded(self, path: str, image: QImage, size: QSize) -> None:
        entry, item = self.inputs.get(path), self._item(path)
        if entry is None or item is None:
            return
        if size.isValid():
            entry.source_size = (size.width(), size.height())
        if not image.isNull():
            item.setIcon(square_icon(image))
        render_row(item, entry)

    def _update_buttons(self) -> None:
        waiting = len(self.inputs.to_submit())
        count = f" {waiting} images" if waiting > 1 else ""
        self.upscale_button.setText(f"Upscale{count}")
        self.upscale_button.setEnabled(waiting > 0)
        selected = bool(self.list.selectedItems())
        self.remove_button.setEnabled(selected)
        self.remove_action.setEnabled(selected)
        self.upscale_selected_action.setEnabled(selected)
        self.clear_button.setEnabled(bool(self.inputs.entries))
