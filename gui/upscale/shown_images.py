"""What the Upscale compare view shows: the chosen input and its newest result, read by
the image loader and kept in a small cache (whole images can be 256 MB each).

The left side is the original, or another model's result of the same input: upscale an
image with lite-x4 and then with lite-x4-gan, choose lite-x4 for the left side, and the
divider sweeps across the perception–distortion trade-off (the adversarial model draws
sharper texture; the plain one stays closer to the original, pixel for pixel)."""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QComboBox, QListWidgetItem

from gui.upscale.rows import FAILED_COLOUR, QUIET, PathRole, sizes_text
from gui.viewmodels.upscale import EntryStatus, UpscaleEntry

CACHED_IMAGES = 4  # whole images kept for the compare view (they can be 256 MB each)
ORIGINAL = "Original"
LEFT_TIP = (
    "What the left of the divider shows: the original, or another model's result of the "
    "same image. Upscale an image with two models (say lite-x4, then lite-x4-gan) to "
    "compare them side by side."
)


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
        self._offer_left_sides(entry)
        before = self._image(self._left_path(entry))
        after = self._image(entry.result) if entry.result else None
        self.compare.set_labels(self._left_label(entry), entry.result_model or "After")
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
        left = self._left_path(entry) if entry is not None else ""
        if entry is not None and path in (left, entry.result):
            self.compare.set_images(self._images.get(left), self._images.get(entry.result or ""))

    # ------------------------------------------------------------ the left side

    def _build_left_side(self) -> QComboBox:
        self.left_box = QComboBox()
        self.left_box.setToolTip(LEFT_TIP)
        self.left_box.addItem(ORIGINAL, "")
        self.left_box.setEnabled(False)
        self.left_box.activated.connect(self._left_chosen)
        self._left_model = ""  # the model chosen for the left ("" for the original)
        return self.left_box

    def _offer_left_sides(self, entry: UpscaleEntry) -> None:
        """The original, and every model but the newest that has a result of this input."""
        others = [m for m in entry.results if m != entry.result_model]
        self.left_box.blockSignals(True)
        self.left_box.clear()
        self.left_box.addItem(ORIGINAL, "")
        for model in others:
            self.left_box.addItem(f"{model}'s result", model)
        self.left_box.setCurrentIndex(max(0, self.left_box.findData(self._left_model)))
        self.left_box.setEnabled(bool(others))
        self.left_box.blockSignals(False)

    def _left_chosen(self, index: int) -> None:
        self._left_model = self.left_box.itemData(index) or ""
        if self._shown:
            self.show_entry(self._shown)

    def _left_model_for(self, entry: UpscaleEntry) -> str:
        """The chosen model, where it has a result of this input and is not the right side."""
        model = self._left_model
        return model if model in entry.results and model != entry.result_model else ""

    def _left_path(self, entry: UpscaleEntry) -> str:
        model = self._left_model_for(entry)
        return entry.results[model] if model else entry.path

    def _left_label(self, entry: UpscaleEntry) -> str:
        if self._left_model_for(entry):
            return self._left_model_for(entry)
        return ORIGINAL if entry.result else "Before"

    def _show_info(self, entry: UpscaleEntry) -> None:
        if entry.status is EntryStatus.FAILED:
            self.info.setStyleSheet(f"color: {FAILED_COLOUR.name()};")
            self.info.setText(f"{entry.name} was not upscaled: {entry.detail}")
            return
        self.info.setStyleSheet(QUIET)
        sizes = sizes_text(entry)
        notes = f" · {entry.detail}" if entry.status is EntryStatus.DONE and entry.detail else ""
        self.info.setText(f"{entry.name}{' · ' + sizes if sizes else ''}{notes}")
