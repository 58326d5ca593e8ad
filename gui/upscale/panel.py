"""Upscale: enlarge images with a super-resolution model (or plain Lanczos/Bicubic).

The panel holds a list of input images (dropped files or folders, Add images…, or
"Upscale" from the gallery, the details or the canvas) and starts one job per image.
Each row shows where its job is; a failed image gets a red mark and its reason, and the
others go on. The right side of the window is a CompareView: the chosen input and its
result, split by a divider.

The panel is put together from mixins, one concept per module of gui/upscale/: the input
list, the model picker, the run settings (scale, tile, saved state), the compare view's
images, the batch's progress, the batch's journal (a stopped folder upscale resumes) and
the "too large" question. The panel itself builds the
layout and the requests, and routes its jobs' events (listen, reopen,
job_finished) in one place.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api.catalogue import CatalogueEntry
from engine.api.errors import BadInput
from engine.api.events import Failed, Progress
from engine.api.kinds import ErrorKind
from engine.api.outcomes import ImagesOutcome, Outcome, VectorsOutcome
from engine.api.parts import ImageRef
from engine.api.requests import DescribeModelRequest, Request, UpscaleRequest
from engine.handle import JobHandle
from engine.interface import Catalogue
from gui.compare_view import CompareView, dropped_paths
from gui.image_loader import ImageLoader
from gui.images import rgb_to_qimage
from gui.mode_panel import ModePanel
from gui.upscale.batch_progress import BatchProgressMixin
from gui.upscale.factor import below_own, refusal
from gui.upscale.input_list import InputsMixin
from gui.upscale.model_picker import ModelPickerMixin
from gui.upscale.resume import ResumeMixin
from gui.upscale.rows import FAILED_COLOUR, THUMB, PathRole
from gui.upscale.run_settings import RunSettingsMixin
from gui.upscale.shown_images import ShownImagesMixin
from gui.upscale.too_large import TooLargeMixin, refused_as_too_large
from gui.viewmodels.upscale import BatchProgress, EntryStatus, UpscaleEntry, UpscaleInputs


class UpscalePanel(
    InputsMixin,
    ModelPickerMixin,
    RunSettingsMixin,
    ShownImagesMixin,
    BatchProgressMixin,
    TooLargeMixin,
    ResumeMixin,
    QWidget,
    ModePanel,
):
    title = "Upscale"
    reports_failures = True  # a red mark in the list, not a box per image
    generate_requested = Signal()
    submit_requested = Signal(object)  # a request to start on its own (Upscale Anyway)
    notice = Signal(str)  # a line for the status bar

    def __init__(self, *, catalogue: Catalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalogue = catalogue  # the engine's upscalers
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
        self._init_resume()

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
        form.addRow("Left side", self._build_left_side())
        return form

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

    # ------------------------------------------------------------ requests

    def build_request(self) -> UpscaleRequest:
        """The request for the shown image (or the first): what one Generate would start."""
        entry = self.inputs.get(self._shown or "") or next(iter(self.inputs.entries), None)
        if entry is None:
            raise BadInput("Add images to upscale: drop them on the list, or use Add images….")
        return self._request_for(entry)

    def build_requests(self) -> list[Request]:
        """One job per image not already queued or running, and not upscaled before with
        these settings into this output folder: the batch's journal is read off the GUI
        thread and those jobs start when it has been (gui/upscale/resume.py)."""
        entries = [e for e in self.inputs.to_submit() if e.path not in self._checking]
        if not entries:
            if self.inputs.entries:
                raise BadInput("Every image in the list is already being upscaled.")
            return [self.build_request()]  # says what to do
        self._follow = True
        return list(self._start_not_made_before(entries, self._request_for))

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
        if outcome.images and outcome.images[0].path:  # made, even if its row was removed
            self._record_made(request, outcome.images[0].path)
        if entry is not None and outcome.images:
            image = outcome.images[0]
            notes = image.info.get("notes") or []
            entry.status, entry.detail = EntryStatus.DONE, "; ".join(notes)
            entry.add_result(request.model.name, image.path, (image.width, image.height))
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
            entry.too_large = refused_as_too_large(request, event)
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

    def close_loader(self) -> None:
        self.loader.close()
        self.wait_for_listing()
        self.wait_for_journal()
