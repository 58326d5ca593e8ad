"""What the Upscale compare view shows: the chosen input and its result, read by the
image loader and kept in a small cache (whole images can be 256 MB each)."""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QListWidgetItem

from gui.upscale.rows import FAILED_COLOUR, QUIET, PathRole, sizes_text
from gui.viewmodels.upscale import EntryStatus, UpscaleEntry

CACHED_IMAGES = 4  # whole images kept for the compare view (they can be 256 MB each)


class ShownImagesMixin:
    """UpscalePanel's compare view (a mixin: the panel owns the widgets)."""

    def _current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None and current.data(PathRole) != self._shown:
            self._follow = False  # the user chose what to look at: results do not jump
            self.show_entry(current.data(PathRole))

    def show_entry(self, path: str) -> None:
        """Put an input (and its result, if it has one) on the compare view."""
        entry = self.inputs.get(path)
        if entry is None:
            return
        self._shown = path
        item = self._item(path)
        if item is not None and self.list.currentItem() is not item:
            self.list.blockSignals(True)
            self.list.setCurrentItem(item)
            self.list.blockSignals(False)
            self._update_buttons()
        before = self._image(entry.path)
        after = self._image(entry.result) if entry.result else None
        self.compare.set_images(before, after)
        if before is None and after is None:
            self.compare.set_placeholder(f"Reading {entry.name}…")
        self._show_info(entry)

    def _image(self, path: str) -> QImage | None:
        """A whole image from the cache, or None while the loader reads it."""
        image = self._images.get(path)
        if image is None:
            self.loader.image(path)
        return image

    def _keep_image(self, path: str, image: QImage) -> None:
        self._images.pop(path, None)
        self._images[path] = image
        while len(self._images) > CACHED_IMAGES:
            self._images.pop(next(iter(self._images)))

    def _image_loaded(self, path: str, image: QImage) -> None:
        entry = self.inputs.get(self._shown) if self._shown else None
        if image.isNull():
            if entry is not None and path == entry.path:
                self.compare.set_placeholder(f"{entry.name} cannot be shown: it is not an image.")
            return
        self._keep_image(path, image)
        if entry is not None and path in (entry.path, entry.result):
            self.compare.set_images(
                self._images.get(entry.path), self._images.get(entry.result or "")
            )

    def _show_info(self, entry: UpscaleEntry) -> None:
        if entry.status is EntryStatus.FAILED:
            self.info.setStyleSheet(f"color: {FAILED_COLOUR.name()};")
            self.info.setText(f"{entry.name} was not upscaled: {entry.detail}")
            return
        self.info.setStyleSheet(QUIET)
        sizes = sizes_text(entry)
        notes = f" · {entry.detail}" if entry.status is EntryStatus.DONE and entry.detail else ""
        self.info.setText(f"{entry.name}{' · ' + sizes if sizes else ''}{notes}")
