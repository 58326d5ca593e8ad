"""Upscale: enlarge images with a super-resolution model (or plain Lanczos/Bicubic).

The panel holds a list of input images (dropped files or folders, Add images…, or
"Upscale" from the gallery, the details or the canvas) and starts one job per image.
Each row shows where its job is; a failed image gets a red mark and its reason, and the
others go on. The right side of the window is a CompareView: the chosen input and its
result, split by a divider.

An image over the megapixel guard fails with a sentence asking to confirm; the panel
offers "Upscale Anyway" for all such images at once (a window-modal box that does not
block), and resubmits them with allow_large.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QPainter,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.catalogue import CatalogueEntry, is_resampler, upscaler_models
from engine.api.errors import BadInput
from engine.api.events import Failed, Progress
from engine.api.imagefiles import IMAGE_SUFFIXES
from engine.api.kinds import ErrorKind
from engine.api.outcomes import ImagesOutcome, Outcome, VectorsOutcome
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import DescribeModelRequest, Request, UpscaleRequest
from engine.handle import JobHandle
from gui.compare_view import CompareView, dropped_paths
from gui.image_loader import ImageLoader, header_size
from gui.images import rgb_to_qimage
from gui.mode_panel import ModePanel
from gui.start_folders import Purpose, start_folder
from gui.upscale_factor import below_own, limit_choices, refusal
from gui.upscale_rows import (
    FAILED_COLOUR,
    THUMB,
    placeholder_icon,
    render_row,
    sizes_text,
    square_icon,
)
from gui.viewmodels.jobs import format_duration
from gui.viewmodels.upscale import Added, BatchProgress, EntryStatus, UpscaleEntry, UpscaleInputs
from gui.widgets import double_spin_box, spin_box

PathRole = Qt.ItemDataRole.UserRole
DEFAULT_MODEL = "lite-x4"  # the bundled ×4 upscaler, when it is installed
CACHED_IMAGES = 4  # whole images kept for the compare view (they can be 256 MB each)
QUIET = "color: #a8a8a8;"
TILE_CHOICES = (("Auto", -1), ("Whole image", 0), ("Tiles of", None))
TILE_TIPS = (
    "Auto: tiles sized to the free memory (the whole image when the model needs it).\n"
    "Whole image: fastest, needs the most memory.\n"
    "Tiles of: smaller tiles use less memory; out of memory halves them and tries again."
)


class InputList(QListWidget):
    """The inputs, with a hint where the list is empty."""

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.count():
            return
        painter = QPainter(self.viewport())
        painter.setPen(QColor("#8a8a8a"))
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        text = "Drop images or folders here,\nor use Add images…"
        painter.drawText(self.viewport().rect().adjusted(8, 8, -8, -8), flags, text)


class UpscalePanel(QWidget, ModePanel):
    title = "Upscale"
    reports_failures = True  # a red mark in the list, not a box per image
    generate_requested = Signal()
    submit_requested = Signal(object)  # a request to start on its own (Upscale Anyway)
    notice = Signal(str)  # a line for the status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.inputs = UpscaleInputs()
        self.batch = BatchProgress()
        self.compare = CompareView()
        self.main_view = self.compare  # the main window shows it in place of the canvas
        self.compare.files_dropped.connect(self.add_paths)
        self.loader = ImageLoader(self, thumbnail_side=THUMB)
        self.loader.thumbnail_loaded.connect(self._thumbnail_loaded)
        self.loader.image_loaded.connect(self._image_loaded)
        self._images: dict[str, QImage] = {}  # path -> whole image, the newest last
        self._shown: str | None = None  # the entry on the compare view
        self._follow = True  # show each result as it comes, until the user picks a row
        self._large: dict[str, UpscaleRequest] = {}  # refused as too large, to confirm
        self._large_box: QMessageBox | None = None
        self._entries: list[CatalogueEntry] = []
        # What opening a user's upscaler file said: (architecture, factor), or why it
        # cannot be used. Keyed by path; asked once per file and session.
        self._described: dict[str, tuple[str, int] | str] = {}

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Images</b>"))
        layout.addWidget(self._build_list(), 1)
        layout.addLayout(self._build_list_buttons())
        layout.addLayout(self._build_form())
        layout.addWidget(self._build_progress())
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.info)
        self.upscale_button = QPushButton("Upscale")
        self.upscale_button.setToolTip("Upscale every image in the list (Ctrl+Enter)")
        self.upscale_button.setMinimumHeight(36)
        self.upscale_button.clicked.connect(self.generate_requested)
        layout.addWidget(self.upscale_button)
        self.scan_models([])
        self._update_buttons()

    # ------------------------------------------------------------ construction

    def _build_list(self) -> QListWidget:
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

    def _build_form(self) -> QFormLayout:
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(14)
        self.model_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_box.currentIndexChanged.connect(self._model_changed)
        form = QFormLayout()
        form.addRow("Model", self.model_box)
        # Why a picked file cannot be used, in full, where the user is looking.
        self.model_note = QLabel(wordWrap=True)
        self.model_note.setStyleSheet(f"color: {FAILED_COLOUR.name()};")
        self.model_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_note.hide()
        form.addRow(self.model_note)
        form.addRow("Scale", self._build_scale())
        form.addRow("Tile", self._build_tile())
        self.smooth_box = QCheckBox("Smooth the original")
        self.smooth_box.setToolTip(
            "Off: the original is enlarged with its pixels as they are, so the comparison "
            "shows what the upscaler added. On: interpolated, as a plain resize would."
        )
        self.smooth_box.toggled.connect(self.compare.set_smooth_before)
        self.compare.smooth_action.toggled.connect(self.smooth_box.setChecked)
        form.addRow("Compare", self.smooth_box)
        return form

    def _build_scale(self) -> QWidget:
        self.own_scale = QRadioButton("Model's own")
        self.x2, self.x4 = QRadioButton("×2"), QRadioButton("×4")
        self.other_scale = QRadioButton("Other")
        self.factor = double_spin_box(limits.UPSCALE_FACTOR, 3.0, step=0.5, decimals=2)
        self.factor.setPrefix("×")
        self.scale_group = QButtonGroup(self)
        for button in (self.own_scale, self.x2, self.x4, self.other_scale):
            self.scale_group.addButton(button)
        self.x4.setChecked(True)
        self.scale_group.buttonToggled.connect(self._scale_changed)
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.x2, 0, 0)
        grid.addWidget(self.x4, 0, 1)
        grid.addWidget(self.own_scale, 0, 2)
        grid.addWidget(self.other_scale, 1, 0)
        grid.addWidget(self.factor, 1, 1, 1, 2)
        return box

    def _build_tile(self) -> QWidget:
        self.tile_mode = QComboBox()
        for text, value in TILE_CHOICES:
            self.tile_mode.addItem(text, value)
        self.tile_mode.setToolTip(TILE_TIPS)
        self.tile_size = spin_box(limits.UPSCALE_TILE, 512, step=32)
        self.tile_size.setSuffix(" px")
        self.tile_mode.currentIndexChanged.connect(self._tile_changed)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.tile_mode, 1)
        row.addWidget(self.tile_size, 1)
        self._tile_changed()
        return box

    def _build_progress(self) -> QWidget:
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m")
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setStyleSheet(QUIET)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.progress)
        column.addWidget(self.progress_label)
        box.hide()
        self.progress_box = box
        return box

    # ------------------------------------------------------------ models and settings

    def scan_models(self, folders: list[Path], select: str = "") -> None:
        """Fill the picker: resamplers, bundled upscalers, files in the models folders."""
        current = select or (self.model.id if self.model else "")
        self._entries = upscaler_models(folders)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for entry in self._entries:
            self.model_box.addItem(entry.title, entry.ref)
            tip = "Plain resampling, no model" if is_resampler(entry.ref) else str(entry.path)
            self.model_box.setItemData(self.model_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        ids = [e.ref.id for e in self._entries]
        models = [e.ref.id for e in self._entries if not is_resampler(e.ref)]
        # By default the bundled ×4 model (×4 is what most upscale to), another, or Lanczos.
        for wanted in (current, DEFAULT_MODEL, *models[:1], ids[0]):
            if wanted in ids:
                self.model_box.setCurrentIndex(ids.index(wanted))
                break
        self.model_box.blockSignals(False)
        self._model_changed()

    @property
    def model(self) -> ModelRef | None:
        return self.model_box.currentData()

    def select_model(self, model_id: str) -> bool:
        index = next((i for i, e in enumerate(self._entries) if e.ref.id == model_id), -1)
        if index >= 0:
            self.model_box.setCurrentIndex(index)
        return index >= 0

    def _model_changed(self, *_args: object) -> None:
        model = self.model
        resampler = model is None or is_resampler(model)
        entry = None if model is None else self._entries[self.model_box.currentIndex()]
        if entry is not None and not resampler and not entry.bundled:
            self._describe(entry)
        own = None if resampler else self._own_factor(entry)
        self.own_scale.setText(f"Model's own (×{own})" if own else "Model's own")
        self.own_scale.setEnabled(not resampler)
        self.own_scale.setToolTip(
            "Lanczos and Bicubic have no factor of their own"
            if resampler
            else "The factor the model was trained for, without any resize after it"
        )
        if resampler and self.own_scale.isChecked():
            self.x2.setChecked(True)
        limit_choices(own, {2.0: self.x2, 4.0: self.x4}, self.own_scale, self.factor)
        problem = self._described.get(model.id) if model is not None else None
        self.model_note.setText(problem if isinstance(problem, str) else "")
        self.model_note.setVisible(isinstance(problem, str))

    def own_factor(self) -> int | None:
        """The chosen model's own factor, when known (None for a resampler)."""
        model = self.model
        if model is None or is_resampler(model):
            return None
        return self._own_factor(self._entries[self.model_box.currentIndex()])

    def _own_factor(self, entry: CatalogueEntry | None) -> int | None:
        described = self._described.get(entry.ref.id) if entry is not None else None
        if isinstance(described, tuple):
            return described[1]
        return _own_factor(entry) if entry is not None else None

    def _describe(self, entry: CatalogueEntry) -> None:
        """Ask the engine what a user's file is (spandrel reads its tensors); the answer
        names the picker's item "4x-UltraSharp · ×4 ESRGAN"."""
        if entry.ref.id not in self._described:
            self.submit_requested.emit(DescribeModelRequest(model=entry.ref))

    def _described_as(self, model_id: str, answer: tuple[str, int] | str) -> None:
        self._described[model_id] = answer
        index = next((i for i, e in enumerate(self._entries) if e.ref.id == model_id), -1)
        if index < 0:
            return
        entry = self._entries[index]
        if isinstance(answer, tuple):
            architecture, factor = answer
            title = f"{entry.title} · ×{factor} {architecture}"
            tip = f"{architecture}, ×{factor}\n{entry.path}"
        else:
            title, tip = f"{entry.title} · cannot be used", f"{answer}\n{entry.path}"
        self.model_box.setItemText(index, title)
        self.model_box.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        if index == self.model_box.currentIndex():
            self._model_changed()
            if isinstance(answer, str):
                self.notice.emit(answer)

    def _scale_changed(self, *_args: object) -> None:
        self.factor.setEnabled(self.other_scale.isChecked())

    def _tile_changed(self, *_args: object) -> None:
        self.tile_size.setEnabled(self.tile_mode.currentData() is None)

    def scale_value(self) -> float:
        """What the request's `scale` says: 0 for the model's own factor."""
        if self.own_scale.isChecked():
            return 0.0
        if self.other_scale.isChecked():
            return round(self.factor.value(), 2)
        return 2.0 if self.x2.isChecked() else 4.0

    def tile_value(self) -> int:
        mode = self.tile_mode.currentData()
        return self.tile_size.value() if mode is None else mode

    # ------------------------------------------------------------ inputs

    def add_paths(self, paths: list[Path]) -> Added:
        """Add files and the images of folders; say what was skipped; show the first."""
        added = self.inputs.add([Path(p) for p in paths])
        for entry in added.entries:
            self.list.addItem(self._new_item(entry))
            self.loader.thumbnail(entry.path)
        if added.not_images or added.missing or added.duplicates:
            self.notice.emit(added.notice())
        first = added.entries[0].path if added.entries else self._known(paths)
        if first is not None:
            self.show_entry(first)
        self._update_buttons()
        return added

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

    # ------------------------------------------------------------ drops

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    # ------------------------------------------------------------ the compare view

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

    # ------------------------------------------------------------ requests

    def build_request(self) -> UpscaleRequest:
        """The request for the shown image (or the first): what one Generate would start."""
        entry = self.inputs.get(self._shown or "") or next(iter(self.inputs.entries), None)
        if entry is None:
            raise BadInput("Add images to upscale: drop them on the list, or use Add images….")
        return self._request_for(entry)

    def build_requests(self) -> list[Request]:
        """One job per image not already queued or running."""
        entries = self.inputs.to_submit()
        if not entries:
            if self.inputs.entries:
                raise BadInput("Every image in the list is already being upscaled.")
            return [self.build_request()]  # says what to do
        self._follow = True
        return [self._request_for(e) for e in entries]

    def _request_for(self, entry: UpscaleEntry) -> UpscaleRequest:
        model = self.model
        if model is None:
            raise BadInput("Choose an upscaler first.")
        described = self._described.get(model.id)
        if isinstance(described, str):  # refused before: every image would fail the same
            raise BadInput(described)
        own = self.own_factor()
        if below_own(own, self.scale_value()):
            raise BadInput(refusal(model.name, own, self.scale_value()))
        return UpscaleRequest(
            model=model,
            image=ImageRef(entry.path, ""),
            scale=self.scale_value(),
            tile=self.tile_value(),
        )

    def _upscale_selected(self) -> None:
        paths = {item.data(PathRole) for item in self.list.selectedItems()}
        entries = [e for e in self.inputs.to_submit() if e.path in paths]
        self._follow = True
        try:
            requests = [self._request_for(entry) for entry in entries]
        except BadInput as exc:
            self.notice.emit(exc.message)
            return
        for request in requests:
            self.submit_requested.emit(request)

    # ------------------------------------------------------------ jobs

    reopens = ("upscale",)

    def reopen(self, request: Request, seed: int | None) -> None:
        self.apply_request(request)

    def listen(self, request: Request, handle: JobHandle) -> None:
        """Follow a job this panel started: an image's row, or what an upscaler said of itself."""
        if isinstance(request, DescribeModelRequest):
            handle.finished.connect(lambda outcome: self._described_by(request, outcome))
            handle.failed.connect(lambda text, _kind: self._described_as(request.model.id, text))
            return
        self._queued(request)
        handle.started.connect(lambda: self._started(request))
        handle.progress.connect(lambda event: self._progressed(request, event))
        handle.finished.connect(lambda outcome: self.job_finished(request, outcome))
        handle.failed.connect(
            lambda text, kind: self._failed(
                request, self.inputs.get(request.image.path), Failed(0, text, ErrorKind(kind))
            )
        )
        handle.cancelled.connect(lambda: self._cancelled(request))

    def _described_by(self, request: DescribeModelRequest, outcome: Outcome) -> None:
        if isinstance(outcome, VectorsOutcome):
            factor = int(outcome.vectors[0][0])
            self._described_as(request.model.id, (outcome.labels[0], factor))

    def _queued(self, request: UpscaleRequest) -> None:
        self.batch.submitted()
        entry = self.inputs.get(request.image.path)
        if entry is not None:
            entry.status, entry.detail, entry.too_large = EntryStatus.QUEUED, "", False
            self._refresh_row(entry)
        self._update_progress()
        self._update_buttons()

    def _started(self, request: UpscaleRequest) -> None:
        if (entry := self.inputs.get(request.image.path)) is not None:
            entry.status, entry.detail = EntryStatus.RUNNING, "starting…"
            self._refresh_row(entry)
            self._update_progress(entry)

    def _progressed(self, request: UpscaleRequest, event: Progress) -> None:
        if (entry := self.inputs.get(request.image.path)) is not None:
            entry.detail = event.message or f"{event.step} of {event.total}"
            self._refresh_row(entry)
            self._update_progress(entry, event.eta_s)

    def _cancelled(self, request: UpscaleRequest) -> None:
        if (entry := self.inputs.get(request.image.path)) is not None:
            entry.ended_without_result(EntryStatus.CANCELLED, "")
            self._refresh_row(entry)
        self._job_ended(failed=False)

    def job_finished(self, request: UpscaleRequest, outcome: Outcome) -> None:
        if not isinstance(outcome, ImagesOutcome):
            return
        entry = self.inputs.get(request.image.path)
        if entry is not None and outcome.images:
            image = outcome.images[0]
            notes = image.info.get("notes") or []
            entry.status, entry.detail = EntryStatus.DONE, "; ".join(notes)
            entry.result, entry.result_size = image.path, (image.width, image.height)
            source = image.info.get("source_size")
            if isinstance(source, list) and len(source) == 2:
                entry.source_size = (int(source[0]), int(source[1]))
            self._refresh_row(entry)
            if notes:
                self.notice.emit(f"{entry.name}: {'; '.join(notes)}.")
            if self._follow:  # the pixels are here: no need to read the file back
                if image.path:
                    self._keep_image(image.path, rgb_to_qimage(image.rgb))
                self.show_entry(entry.path)
        self._job_ended(failed=False)

    def _failed(self, request: UpscaleRequest, entry: UpscaleEntry | None, event: Failed) -> None:
        name = Path(request.image.path).name
        if entry is not None:
            entry.ended_without_result(EntryStatus.FAILED, event.message)
            entry.too_large = _refused_as_too_large(request, event)
            self._refresh_row(entry)
            if entry.too_large:
                self._large[entry.path] = request
                self._ask_to_allow_large()
        self.notice.emit(f"{name} was not upscaled: {event.message}")
        self._job_ended(failed=True)

    def _job_ended(self, failed: bool) -> None:
        self.batch.job_ended(failed)
        self._update_progress()
        self._update_buttons()
        if not self.batch.running and self.batch.total > 1:
            self.notice.emit(f"Upscale: {self.batch.text().lower()}.")

    def _update_progress(
        self, entry: UpscaleEntry | None = None, eta_s: float | None = None
    ) -> None:
        batch = self.batch
        self.progress_box.setVisible(batch.total > 0)
        self.progress.setRange(0, max(1, batch.total))
        self.progress.setValue(batch.ended)
        self.progress.setFormat(batch.text())
        running = entry is not None and batch.running
        self.progress_label.setVisible(running)
        if not running:
            return
        position = f" ({batch.ended + 1} of {batch.total})" if batch.total > 1 else ""
        eta = f" · {format_duration(eta_s)} left" if eta_s is not None else ""
        self.progress_label.setText(f"Upscaling {entry.name}{position}: {entry.detail}{eta}")

    # ------------------------------------------------------------ too large: confirm

    def _ask_to_allow_large(self) -> None:
        names = [Path(p).name for p in self._large]
        if len(names) == 1:
            text = self.inputs.get(next(iter(self._large))).detail
        else:
            text = (
                f"{len(names)} images are larger than "
                f"{limits.UPSCALE_MAX_INPUT_PIXELS / 1e6:.0f} megapixels: {', '.join(names)}. "
                "If they are real images, upscale them anyway; a small file that claims such "
                "a size is damaged or made to exhaust memory."
            )
        if self._large_box is not None and self._large_box.isVisible():
            self._large_box.setText(text)  # one question for all of them
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Upscale anyway?", text, parent=self)
        anyway = box.addButton("Upscale Anyway", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Skip", QMessageBox.ButtonRole.RejectRole)
        box.finished.connect(lambda _r: self._large_answer(box.clickedButton() is anyway))
        self._large_box = box
        box.open()  # window-modal, not blocking

    def _large_answer(self, anyway: bool) -> None:
        requests, self._large = list(self._large.values()), {}
        if anyway:
            for request in requests:
                self.submit_requested.emit(dataclasses.replace(request, allow_large=True))

    # ------------------------------------------------------------ parameters and state

    def apply_request(self, request: UpscaleRequest) -> None:
        """Use the settings of an upscaled image, and add its original if it is still there."""
        self.select_model(request.model.id)
        self._set_scale(request.scale)
        self._set_tile(request.tile)
        if Path(request.image.path).is_file():
            self.add_paths([Path(request.image.path)])

    def _set_scale(self, scale: float) -> None:
        presets = {0.0: self.own_scale, 2.0: self.x2, 4.0: self.x4}
        button = presets.get(float(scale), self.other_scale)
        if button is self.own_scale and not self.own_scale.isEnabled():
            button = self.x2
        if button is self.other_scale:
            self.factor.setValue(float(scale))
        button.setChecked(True)

    def _set_tile(self, tile: int) -> None:
        index = self.tile_mode.findData(tile) if tile in (-1, 0) else self.tile_mode.findData(None)
        self.tile_mode.setCurrentIndex(index)
        if tile > 0:
            self.tile_size.setValue(tile)

    def state(self) -> dict[str, Any]:
        model = self.model
        return {
            "model": model.id if model else "",
            "scale": self.scale_value(),
            "factor": self.factor.value(),
            "tile": self.tile_value(),
            "tile_size": self.tile_size.value(),
            "smooth_before": self.smooth_box.isChecked(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.select_model(str(state.get("model", "")))
            self.factor.setValue(float(state.get("factor", self.factor.value())))
            self._set_scale(float(state.get("scale", self.scale_value())))
            self.tile_size.setValue(int(state.get("tile_size", self.tile_size.value())))
            self._set_tile(int(state.get("tile", self.tile_value())))
            self.smooth_box.setChecked(bool(state.get("smooth_before", False)))

    def close_loader(self) -> None:
        self.loader.close()


# ---------------------------------------------------------------- helpers


def _refused_as_too_large(request: UpscaleRequest, event: Failed) -> bool:
    """Whether the engine's megapixel guard refused the image (the user may confirm)."""
    if event.kind is not ErrorKind.BAD_INPUT or request.allow_large:
        return False
    size = header_size(request.image.path)
    if size.isValid():
        return size.width() * size.height() > limits.UPSCALE_MAX_INPUT_PIXELS
    return "megapixels" in event.message  # a format Qt cannot read the header of


def _own_factor(entry: CatalogueEntry) -> int | None:
    """A bundled upscaler's factor, from the record beside it (None when unknown)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        record = json.loads(entry.path.with_suffix(".json").read_text(encoding="utf-8"))
        scale = record.get("config", {}).get("scale")
        return int(scale) if isinstance(scale, int | float) else None
    return None
