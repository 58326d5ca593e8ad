"""The main window: a shell of modes, the shared canvas, the docks and the status bar.

Engine events go into the view-models (jobs, results); widgets show those. A mode panel
builds requests and hears about the jobs it submitted; nothing here knows one mode's
controls. The window never waits on the engine: everything arrives as a signal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from engine.api.errors import BadInput
from engine.api.events import (
    ENDINGS,
    Cancelled,
    DeviceInfo,
    Failed,
    Finished,
    Paused,
    Preview,
    Resumed,
)
from engine.api.grid import GridLayout, image_grid
from engine.api.kinds import Lane
from engine.api.limits import SIZE_MULTIPLE, nearest_multiple
from engine.api.naming import slugify
from engine.api.outcomes import ModelOutcome
from engine.api.requests import (
    ArithmeticRequest,
    DiffuseRequest,
    InterpolateRequest,
    ReconstructRequest,
    Request,
    SampleRequest,
    TrainRequest,
    Txt2ImgRequest,
    UpscaleRequest,
)
from engine.local_engine import LocalEngine
from engine.store import ImageMetadata, StoreError, Trashed, metadata_from_text, save_png_copy
from gui import window_state
from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.details_panel import DetailsDock
from gui.gallery_panel import GalleryPanel
from gui.help_menu import add_help_menu
from gui.image_loader import allow_large_images
from gui.images import rgb_to_qimage
from gui.lab_panel import LabPanel
from gui.mode_panel import ModePanel
from gui.queue_dock import QueueDock
from gui.quit_prompt import ask_before_quitting
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from gui.status_bar import StatusBar
from gui.upscale_panel import UpscalePanel
from gui.viewmodels.jobs import JobsModel, JobState, JobStatus
from gui.viewmodels.results import ResultsModel

SHUTDOWN_WAIT_MS = 3_000  # then engine threads stuck in a load are left to the OS
UNDO_MS = 15_000  # how long the Undo button stays after a delete
# Results whose "Use these parameters" opens a Latent Lab → Explore tool (a SampleRequest
# here is a code kept from the sliders; plain samples go to the Sample tab).
EXPLORE_RESULTS = (
    InterpolateRequest,
    DiffuseRequest,
    ArithmeticRequest,
    ReconstructRequest,
    SampleRequest,
)


class MainWindow(QMainWindow):
    def __init__(self, client: LocalEngine, settings: AppSettings) -> None:
        super().__init__()
        self.setWindowTitle("Latent Studio")
        self.resize(1280, 820)
        self.client = client
        self.settings = settings
        self.shutdown_wait_ms = SHUTDOWN_WAIT_MS
        self.last_error: str | None = None  # the last failure shown to the user
        self.jobs = JobsModel(self)
        self.results = ResultsModel(self)
        self._job_panels: dict[int, ModePanel] = {}  # which panel submitted which job
        self._shown_file: str | None = None  # the file on the canvas, if it came from disk
        self._preview_job: int | None = None  # the job whose preview is on the canvas
        self._last_trashed: list[Trashed] = []
        self.quit_when_idle = False
        self.closing = False
        allow_large_images()  # upscaled results pass Qt's default 256 MB per image

        self.canvas = ImageCanvas()
        self.create_panel = CreatePanel()
        self.lab_panel = LabPanel()
        self.gallery_panel = GalleryPanel(client.gallery)
        self.upscale_panel = UpscalePanel()
        self.modes: list[QWidget] = [
            self.create_panel,
            self.lab_panel,
            self.gallery_panel,
            self.upscale_panel,
        ]
        self.panels = QStackedWidget()
        self.views = QStackedWidget()  # the right side: the canvas, or a mode's own view
        self.views.addWidget(self.canvas)
        for panel in self.modes:
            self.panels.addWidget(panel)
            if panel.main_view is not None:
                self.views.addWidget(panel.main_view)
        self.panels.setMinimumWidth(320)
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.panels)
        splitter.addWidget(self.views)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        self.setCentralWidget(splitter)

        self.queue_dock = QueueDock(self.jobs, self)
        self.details_dock = DetailsDock(self)
        self.details = self.details_dock.panel
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.queue_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.details_dock)
        self.resizeDocks([self.queue_dock], [300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.queue_dock, self.details_dock], [260, 420], Qt.Orientation.Vertical)
        self.queue_dock.cancel_requested.connect(self.cancel_job)
        self.queue_dock.stop_requested.connect(self.stop_job)
        self.queue_dock.pause_requested.connect(self.client.pause)
        self.queue_dock.resume_requested.connect(self.client.resume)
        self.status = StatusBar(self.jobs, self)
        self.setStatusBar(self.status)
        self.undo_button = QPushButton("Undo")
        self.undo_button.hide()
        self.undo_button.clicked.connect(self.undo_delete)
        self.status.addPermanentWidget(self.undo_button)  # beside the message, not over it
        self._undo_timer = QTimer(self, singleShot=True, interval=UNDO_MS)
        self._undo_timer.timeout.connect(self.undo_button.hide)

        self._build_actions()
        self._build_mode_bar()
        self._connect()

        self.create_panel.scan_models(settings.models_dirs, settings.last_model)
        self.create_panel.restore(settings.panel_state("create"))
        self.lab_panel.restore(settings.panel_state("lab"))
        self.upscale_panel.scan_models(settings.models_dirs)
        self.upscale_panel.restore(settings.panel_state("upscale"))
        first = self.lab_panel if not self.create_panel.model_path else self.create_panel
        self.set_mode(self.modes.index(first))
        self.gallery_panel.refresh()
        if client.gallery.notice:
            self.statusBar().showMessage(client.gallery.notice, 15_000)
        self.gallery_panel.sync()
        window_state.restore(self)
        window_state.CanvasRoom(self)  # small windows: the side areas give way first
        self._update_actions()

    # ------------------------------------------------------------ construction

    def _connect(self) -> None:
        for panel in self.modes:
            if getattr(panel, "generates", False):
                panel.generate_requested.connect(self.generate)
        self.create_panel.model_chosen.connect(self._remember_model)
        self.lab_panel.keep_requested.connect(self.keep_sample)
        self.lab_panel.submit_requested.connect(
            lambda request: self._submit_for(self.lab_panel, request)
        )
        self.lab_panel.train_requested.connect(self.start_training)
        self.lab_panel.score_requested.connect(
            lambda request: self._submit_for(self.lab_panel, request)
        )
        self.lab_panel.training_control.connect(self._control_training)
        self.gallery_panel.open_requested.connect(self.open_image)
        self.gallery_panel.current_changed.connect(self.open_image)
        self.gallery_panel.deleted.connect(self._deleted)
        self.gallery_panel.failed.connect(lambda text: self._show_error("Not deleted", text))
        self.gallery_panel.notice.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.gallery_panel.upscale_requested.connect(self.upscale_files)
        self.details.upscale_requested.connect(lambda path: self.upscale_files([path]))
        self.upscale_panel.notice.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.create_panel.notice.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.create_panel.models_changed.connect(
            lambda: self.upscale_panel.scan_models(self.settings.models_dirs)
        )
        self.upscale_panel.submit_requested.connect(
            lambda request: self._submit_for(self.upscale_panel, request)
        )
        self.details.use_parameters.connect(self.use_parameters)
        self.results.shown_changed.connect(self._show_result)
        self.results.model_written.connect(self._model_written)
        self.canvas.cell_clicked.connect(self._cell_clicked)
        self.client.event.connect(self.on_engine_event)

    def _action(self, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(action)  # shortcuts work whichever widget has focus
        return action

    def _build_actions(self) -> None:
        self.generate_action = self._action(
            "Generate", self.generate, [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")]
        )
        self.cancel_action = self._action("Cancel", self.cancel_running, QKeySequence("Esc"))
        self.save_as_action = self._action(
            "Save Image As…", self.save_image_as, QKeySequence.StandardKey.SaveAs
        )
        self.undo_action = self._action(
            "Undo Delete", self.undo_delete, QKeySequence.StandardKey.Undo
        )
        settings = self._action("Settings…", self.open_settings, QKeySequence("Ctrl+,"))
        quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.upscale_action = self._action(
            "Upscale This Image", self.upscale_shown_image, QKeySequence("Ctrl+U")
        )
        self.canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.canvas.addActions([self.upscale_action, self.save_as_action])
        # The shown view's: the canvas, or the Upscale mode's before/after view.
        fit = self._action(
            "Fit to Window", lambda: self.views.currentWidget().fit(), QKeySequence("Ctrl+0")
        )
        actual = self._action(
            "Actual Size", lambda: self.views.currentWidget().actual_size(), QKeySequence("Ctrl+1")
        )

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.save_as_action, settings])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        view_menu = menu.addMenu("&View")
        view_menu.addActions([fit, actual, self.gallery_panel.rescan_action])
        view_menu.addSeparator()
        view_menu.addActions(
            [self.queue_dock.toggleViewAction(), self.details_dock.toggleViewAction()]
        )
        job_menu = menu.addMenu("&Generate")
        job_menu.addActions([self.generate_action, self.cancel_action])
        job_menu.addSeparator()
        job_menu.addAction(self.upscale_action)
        add_help_menu(self)

    def _build_mode_bar(self) -> None:
        bar = QToolBar("Modes")
        bar.setObjectName("mode-bar")
        bar.setMovable(False)
        bar.setIconSize(QSize(16, 16))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)
        group = QActionGroup(self)
        self.mode_actions: list[QAction] = []
        for i, panel in enumerate(self.modes):
            action = QAction(panel.title, self, checkable=True)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            action.setToolTip(f"{panel.title} (Alt+{i + 1})")
            action.triggered.connect(lambda _=False, i=i: self.set_mode(i))
            group.addAction(action)
            bar.addAction(action)
            # Only the checked mode is drawn framed: a mode button never takes the focus.
            bar.widgetForAction(action).setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.mode_actions.append(action)

    # ------------------------------------------------------------ modes

    @property
    def current_panel(self) -> QWidget:
        return self.panels.currentWidget()

    @property
    def mode(self) -> str:
        return self.current_panel.title

    def set_mode(self, index: int) -> None:
        panel = self.modes[index]
        self.panels.setCurrentIndex(index)
        self.views.setCurrentWidget(panel.main_view or self.canvas)
        self.mode_actions[index].setChecked(True)
        self.generate_action.setEnabled(panel.generates)
        # The gallery grid wants room; the control panels want the canvas to have it.
        total = sum(self.splitter.sizes()) or self.width()
        left = 380 if panel.generates else total // 2
        self.splitter.setSizes([left, total - left])
        panel.activated()

    # ------------------------------------------------------------ jobs

    def generate(self) -> int | None:
        """Submit the current mode's requests (all or none: a bad value gets a sentence,
        not a job); returns the last job's id."""
        panel = self.current_panel
        if not panel.generates:
            return None
        try:
            requests = panel.build_requests()
            for request in requests:
                request.validate()
        except BadInput as exc:
            self._explain_bad_input(exc)
            return None
        job_ids = [self._submit_for(panel, request) for request in requests]
        self._save_panel_states()
        return job_ids[-1] if job_ids else None

    def keep_sample(self, request: SampleRequest) -> None:
        """Save one sample of a sheet on its own: drawn again from its seed, same pixels."""
        self.client.submit(request)

    def _submit_for(self, panel: ModePanel, request: Request) -> int | None:
        try:
            job_id = self.client.submit(request).job_id
        except BadInput as exc:
            self._show_error("Cannot start", exc.message)
            return None
        self._job_panels[job_id] = panel
        panel.job_submitted(request, job_id)
        return job_id

    def start_training(self, request: TrainRequest) -> None:
        if self._submit_for(self.lab_panel, request) is not None:
            self.lab_panel.train.started()

    def _control_training(self, what: str) -> None:
        running = [s for s in self.jobs.running() if s.lane is Lane.TRAIN]
        if not running:
            return
        state = running[-1]
        if what == "stop":
            self.stop_job(state.job_id)
        elif state.status is JobStatus.PAUSED:
            self.client.resume(state.job_id)
        else:
            self.client.pause(state.job_id)

    def _explain_bad_input(self, exc: BadInput) -> None:
        self.last_error = exc.message
        self.statusBar().showMessage(exc.message, 10_000)
        panel = self.create_panel
        odd = [
            (name, b)
            for name, b in (("Width", panel.width_box), ("Height", panel.height_box))
            if b.value() % SIZE_MULTIPLE
        ]
        message = exc.message
        if self.current_panel is panel and odd:
            sizes = " and ".join(f"{name.lower()} {b.value()}" for name, b in odd)
            nearest = " × ".join(
                str(nearest_multiple(b.value())) for b in (panel.width_box, panel.height_box)
            )
            message = (
                f"Stable Diffusion draws sizes in steps of {SIZE_MULTIPLE} pixels; the "
                f"{sizes} {'is' if len(odd) == 1 else 'are'} not. The nearest size is {nearest}."
            )
            self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot generate", message, parent=self)
        fix = None
        if self.current_panel is panel and odd:
            fix = box.addButton("Use nearest size and generate", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(
            lambda _r: (
                fix is not None and box.clickedButton() is fix and self._snap_sizes_and_generate()
            )
        )
        box.open()  # window-modal, not blocking

    def _snap_sizes_and_generate(self) -> None:
        for b in (self.create_panel.width_box, self.create_panel.height_box):
            b.setValue(nearest_multiple(b.value()))
        self.generate()

    def cancel_job(self, job_id: int) -> None:
        self.jobs.mark(job_id, JobStatus.CANCELLING)
        self.client.cancel(job_id)

    def stop_job(self, job_id: int) -> None:
        self.jobs.mark(job_id, JobStatus.STOPPING)
        self.client.stop(job_id)

    def cancel_running(self) -> None:
        for job_id in self.client.cancel_running():
            self.jobs.mark(job_id, JobStatus.CANCELLING)
            self.statusBar().showMessage("Cancelling…")

    # ------------------------------------------------------------ events

    def on_engine_event(self, event: object) -> None:
        if isinstance(event, DeviceInfo):
            self.status.show_device(event)
            self.lab_panel.train.show_device(event.description)
            return
        state = self.jobs.get(getattr(event, "job_id", -1))  # before the event may end it
        self.jobs.apply(event)
        panel = self._job_panels.get(getattr(event, "job_id", -1))
        if panel is not None and state is not None:
            panel.job_event(state.request, event)
        if (
            isinstance(event, (Paused, Resumed))
            and state is not None
            and isinstance(state.request, TrainRequest)
        ):
            self.lab_panel.train.set_running(True, paused=isinstance(event, Paused))
        if isinstance(event, Preview):
            self.canvas.set_image(rgb_to_qimage(event.rgb), keep_view=True, smooth=True)
            self._shown_file = None
            if self._preview_job != event.job_id:  # the details describe the canvas
                what = state.label if state else "a job"
                self.details.show_metadata(None, f"A preview of {what}, in progress: not saved.")
            self._preview_job = event.job_id
            self._update_actions()
        elif isinstance(event, ENDINGS):
            self._job_ended(event, state)

    def _job_ended(self, event: object, state: JobState | None) -> None:
        job_id = event.job_id
        panel = self._job_panels.pop(job_id, None)
        if isinstance(event, Finished) and state is not None:
            self.results.add(job_id, state.request, event.outcome)
            if panel is not None:
                panel.job_finished(state.request, event.outcome)
        elif isinstance(event, Failed):
            if panel is not None and state is not None:
                panel.job_ended_without_outcome(state.request, event.message)
            if panel is not None and panel.reports_failures:  # the panel lists it
                self.last_error = event.message
            else:
                self._show_error(
                    "Generation failed"
                    if not isinstance(getattr(state, "request", None), TrainRequest)
                    else "Training stopped",
                    event.message,
                )
        elif isinstance(event, Cancelled):
            if panel is not None and state is not None:
                panel.job_ended_without_outcome(state.request, "Cancelled.")
            self.statusBar().showMessage("Cancelled: nothing was saved.", 10_000)
            if self._preview_job == job_id:  # the noisy preview is not a result: say so
                step = f" at step {state.step}/{state.total}" if state and state.total else ""
                self.canvas.set_banner(f"Cancelled{step}: this preview was not saved")
                self.details.show_metadata(
                    None, f"A cancelled job's last preview{step}: not saved."
                )
        if self.quit_when_idle and not [s for s in self.jobs.active() if s.request.listed]:
            self.close()

    def _show_result(self) -> None:
        shown = self.results.shown
        self._preview_job = None
        if shown is None:
            self.canvas.set_image(None)
            self._update_actions()
            return
        pixels = shown.pixels
        if pixels and len({p.shape for p in pixels}) > 1:
            # Images of different sizes (a filmstrip and its sample) cannot share a grid:
            # the first, the one the job is about, is shown.
            self.canvas.set_image(rgb_to_qimage(pixels[0]))
        elif pixels:
            self.canvas.set_image(rgb_to_qimage(image_grid(pixels)))
            self._set_canvas_grid(shown, pixels)
        images = shown.images
        self._shown_file = images[0].path if len(images) == 1 else None
        self._show_details_of_result()
        saved = [r for r in images if r.path]
        failed = [r for r in images if r.save_error]
        if saved:
            folder = Path(saved[0].path).parent
            self.statusBar().showMessage(f"Saved {len(saved)} image(s) to {folder}", 10_000)
            self.gallery_panel.refresh()
        if failed:
            self._show_error(
                "Not saved",
                f"{failed[0].save_error}\n\nUse File → Save Image As… to keep it elsewhere.",
            )
        self._update_actions()

    def _set_canvas_grid(self, shown, pixels) -> None:
        images = shown.images
        layout = images[0].info.get("grid") if len(images) == 1 else None
        if layout:
            self.canvas.set_grid(
                layout["columns"],
                layout["rows"],
                layout["cell_width"],
                layout["cell_height"],
                layout["gap"],
            )
        elif len(pixels) > 1:
            grid = GridLayout.for_images(len(pixels), pixels[0].shape[1], pixels[0].shape[0])
            self.canvas.set_grid(
                grid.columns, grid.rows, grid.cell_width, grid.cell_height, grid.gap
            )

    def _cell_clicked(self, column: int, row: int) -> None:
        """A sample of a Lab sheet was clicked: select it, to keep it on its own."""
        shown = self.results.shown
        if shown is None or not isinstance(shown.request, SampleRequest) or len(shown.images) != 1:
            return
        info = shown.images[0].info
        seeds, layout = info.get("seeds"), info.get("grid")
        if not seeds or not layout:
            return
        index = row * layout["columns"] + column
        if index < len(seeds):
            sample = SampleRequest(model=shown.request.model, seed=seeds[index], count=1)
            self.lab_panel.select_sample(sample)
            self.statusBar().showMessage(
                f"Sample with seed {seeds[index]} selected: Keep sample saves it alone.", 8_000
            )

    def _model_written(self, outcome: ModelOutcome) -> None:
        how = "stopped early; kept" if outcome.stopped_early else "finished;"
        self.statusBar().showMessage(
            f"Training {how} step {outcome.step} in {outcome.path}", 15_000
        )

    def _show_error(self, title: str, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 15_000)
        QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self).open()

    # ------------------------------------------------------------ details

    def _show_details_of_result(self) -> None:
        shown = self.results.shown
        images = shown.images if shown else ()
        if shown is None or not images or not (images[0].path or images[0].png_text):
            # Frames (a forward process…) or pixels without a recipe: say what they are,
            # never leave the previous image's details under them.
            unsaved = f"{shown.request.describe()}: shown, not saved." if shown else ""
            self.details.show_metadata(None, *([unsaved] if unsaved else []))
            return
        image = images[0]
        if image.path:
            self._show_details_of_file(image.path)
        elif image.png_text:
            self.details.show_metadata(
                metadata_from_text(image.png_text, image.width, image.height)
            )

    def _show_details_of_file(self, path: str) -> None:
        try:
            self.details.show_metadata(self.client.gallery.metadata(Path(path)))
        except StoreError:
            self.details.show_metadata(None)

    def use_parameters(self, meta: ImageMetadata) -> None:
        """Fill Create or the Lab from an image, exactly (its own seed, one image)."""
        request = meta.request
        if isinstance(request, Txt2ImgRequest):
            self.create_panel.apply_request(request, meta.seed)
            self.set_mode(self.modes.index(self.create_panel))
        elif isinstance(request, SampleRequest) and request.latent is None:
            self.lab_panel.apply_request(request, meta.seed)
            self.set_mode(self.modes.index(self.lab_panel))
        elif isinstance(request, EXPLORE_RESULTS):
            self.lab_panel.apply_explore(request)
            self.set_mode(self.modes.index(self.lab_panel))
        elif isinstance(request, UpscaleRequest):
            self.upscale_panel.apply_request(request)
            self.set_mode(self.modes.index(self.upscale_panel))
        elif meta.parameters_text:
            self.create_panel.apply_parameters(meta.parameters)
            self.set_mode(self.modes.index(self.create_panel))
        self.statusBar().showMessage(
            "Parameters filled in: press Generate to make it again.", 8_000
        )

    # ------------------------------------------------------------ files

    def upscale_files(self, paths: list[str]) -> None:
        """Upscale from the gallery, the details or the canvas: into the Upscale list."""
        self.set_mode(self.modes.index(self.upscale_panel))
        self.upscale_panel.add_paths([Path(p) for p in paths])

    def upscale_shown_image(self) -> None:
        if self._shown_file:
            self.upscale_files([self._shown_file])

    def open_image(self, path: str) -> None:
        image = QImage(path)
        if image.isNull():
            self._show_error("Cannot open image", f"{path} could not be read as an image.")
            return
        self.canvas.set_image(image)
        self._shown_file = path
        self._preview_job = None
        self._show_details_of_file(path)
        self._update_actions()

    def _deleted(self, trashed: list[Trashed]) -> None:
        gone = {str(t.original) for t in trashed}
        if self._shown_file in gone:  # not on disk any more: not on the canvas either
            self.canvas.set_image(None)
            self._shown_file = None
            self.details.show_metadata(None)
        self._last_trashed = [t for t in trashed if t.restorable]
        count = f"{len(trashed)} image{'s' if len(trashed) != 1 else ''}"
        self.statusBar().showMessage(f"Moved {count} to the trash.", UNDO_MS)
        self.undo_button.setVisible(bool(self._last_trashed))
        self._undo_timer.start()
        self._update_actions()

    def undo_delete(self) -> None:
        restored = []
        for trashed in self._last_trashed:
            try:
                restored.append(self.client.gallery.undelete(trashed))
            except StoreError as exc:
                self._show_error("Not restored", exc.message)
        self._last_trashed = []
        self.undo_button.hide()
        self.gallery_panel.refresh()
        if restored:
            self.gallery_panel.select_path(str(restored[0]))
            self.statusBar().showMessage(
                f"Restored {len(restored)} image(s) from the trash.", 8_000
            )
        self._update_actions()

    def save_image_as(self) -> None:
        """Save what the canvas shows; images the gallery could not take keep their recipe."""
        if self.canvas.image is None:
            return
        folder = self.client.gallery.root if self.client.gallery.root.is_dir() else Path.home()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save Image As", str(folder / self.suggested_file_name()), "PNG image (*.png)"
        )
        if path:
            self.save_shown_image(Path(path))

    def suggested_file_name(self) -> str:
        """The shown image's own file name, or one made from its prompt and seed."""
        if self._shown_file:
            return Path(self._shown_file).name
        shown = self.results.shown
        if shown is None or not shown.images:
            return "image.png"
        slug = slugify(shown.request.slug_text) or "image"
        return f"{slug}-{shown.images[0].seed}.png"

    def save_shown_image(self, path: Path) -> list[Path]:
        """Write the shown image(s) to `path` (name-2.png, name-3.png… for a batch)."""
        path = path.with_suffix(".png")
        shown = self.results.shown
        unsaved = self.results.unsaved_of(shown.job_id) if shown else []
        targets: list[Path] = []
        try:
            if self._shown_file:  # a copy of the file keeps its embedded recipe
                shutil.copyfile(self._shown_file, path)
                targets.append(path)
            elif unsaved:
                for i, item in enumerate(unsaved):
                    target = path if i == 0 else path.with_stem(f"{path.stem}-{i + 1}")
                    targets.append(save_png_copy(item.image.rgb, target, item.image.png_text))
                self.results.forget(unsaved)
            elif self.canvas.image is not None and self.canvas.image.save(str(path), "PNG"):
                targets.append(path)
            else:
                raise OSError("the image could not be encoded")
        except (OSError, StoreError) as exc:
            message = exc.message if isinstance(exc, StoreError) else f"{exc}."
            self._show_error("Not saved", f"Could not write {path}: {message}")
            return targets
        self.statusBar().showMessage(f"Saved {', '.join(map(str, targets))}", 10_000)
        return targets

    def _update_actions(self) -> None:
        self.save_as_action.setEnabled(self.canvas.image is not None and self._preview_job is None)
        self.undo_action.setEnabled(bool(self._last_trashed))
        self.upscale_action.setEnabled(bool(self._shown_file) and self._preview_job is None)

    # ------------------------------------------------------------ settings

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self.apply_settings)
        dialog.open()

    def apply_settings(self) -> None:
        self.client.set_output_dir(self.settings.output_dir)
        self.client.set_device_preference(self.settings.device)
        self.gallery_panel.set_store(self.client.gallery)
        self.create_panel.scan_models(self.settings.models_dirs, self.create_panel.model_path)
        self.upscale_panel.scan_models(self.settings.models_dirs)

    def _remember_model(self, path: str) -> None:
        self.settings.last_model = path

    def _save_panel_states(self) -> None:
        self.settings.set_panel_state("create", self.create_panel.state())
        self.settings.set_panel_state("lab", self.lab_panel.state())
        self.settings.set_panel_state("upscale", self.upscale_panel.state())

    # ------------------------------------------------------------ focus and closing

    @property
    def shown_file(self) -> str | None:
        return self._shown_file

    @property
    def showing_preview(self) -> bool:
        return self._preview_job is not None

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        # Back from another program (a file manager, say): look for new files.
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.gallery_panel.sync()
            self.create_panel.folder_watch.window_activated()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.closing and ask_before_quitting(self):
            event.ignore()
            return
        self._save_panel_states()
        window_state.save(self)
        self.settings.sync()
        self.gallery_panel.close_loader()
        self.upscale_panel.close_loader()
        self.client.shutdown(self.shutdown_wait_ms)
        super().closeEvent(event)

    def close_now(self) -> None:
        """Close without asking (Quit anyway, tests): running jobs are cancelled."""
        self.closing = True
        self.close()
