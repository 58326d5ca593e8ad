"""The main window: the shell of modes, the shared canvas, the docks, menus and status.

Panels build requests and listen to their own jobs' handles (gui/submissions.py); every
job's events also reach the queue, the status bar and the canvas (gui/result_view.py)
through the engine's one global signal. "Use these parameters" goes to the panel that
names the recipe's place (Request.reopens_in), all or in part (gui/reopen_recipe.py); a
picture dropped on the window is only shown, with its parameters (gui/window_drops.py).
Nothing here knows one mode's controls; the window never waits: all arrives as a signal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QSplitter, QStackedWidget

from engine.api.errors import BadInput
from engine.api.events import DeviceInfo
from engine.interface import Engine
from engine.store import ImageMetadata, Trashed
from gui import window_state
from gui.bad_input import explain_bad_input
from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.details_panel import DetailsDock
from gui.file_actions import FileActions
from gui.gallery_panel import GalleryPanel
from gui.gallery_sources import SourceFolderActions
from gui.image_loader import allow_large_images
from gui.job_controls import JobControls
from gui.lab_panel import LabPanel
from gui.mark_actions import connect_shown_picture
from gui.mode_panel import ModePanel
from gui.notices import Notices
from gui.queue_dock import QueueDock
from gui.quit_prompt import ask_before_quitting
from gui.reopen_recipe import use_parameters
from gui.result_view import ResultView
from gui.send_to import connect_sources
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from gui.source_image import keep_input
from gui.status_bar import StatusBar
from gui.submissions import Submissions
from gui.trash_undo import TrashUndo
from gui.upscale.panel import UpscalePanel
from gui.use_parts import ALL
from gui.viewmodels.jobs import JobsModel
from gui.viewmodels.results import ResultsModel
from gui.window_drops import WindowDrops
from gui.window_menus import build_menus, build_mode_bar

SHUTDOWN_WAIT_MS = 3_000  # then engine threads stuck in a load are left to the OS


class MainWindow(QMainWindow):
    def __init__(self, client: Engine, settings: AppSettings) -> None:
        super().__init__()
        self.setWindowTitle("Latent Studio")
        self.resize(1280, 820)
        self.client = client
        self.settings = settings
        self.shutdown_wait_ms = SHUTDOWN_WAIT_MS
        self.jobs = JobsModel(self)
        self.results = ResultsModel(self)
        self.quit_when_idle = False
        self.closing = False
        self.quit_box: QMessageBox | None = None  # the quit prompt, once asked
        self.help_box: QMessageBox | None = None  # Help's last box
        allow_large_images()  # upscaled results pass Qt's default 256 MB per image

        self.canvas = ImageCanvas()
        self.create_panel = CreatePanel()
        self.lab_panel = LabPanel(catalogue=client.catalogue)
        self.gallery_panel = GalleryPanel(client.gallery)
        self.upscale_panel = UpscalePanel(catalogue=client.catalogue)
        self.upscale_panel.output_dir = lambda: self.settings.output_dir  # its batch journal
        self.modes: list[ModePanel] = [
            self.create_panel,
            self.lab_panel,
            self.gallery_panel,
            self.upscale_panel,
        ]
        self._build_layout()
        self.notices = Notices(self)
        self.submissions = Submissions(client, self.notices)
        self.controls = JobControls(client, self.jobs, self.notices)
        self.view = ResultView(client, self.canvas, self.details, self.results, self.notices)
        self.files = FileActions(self, client, self.view, self.notices)
        self.trash = TrashUndo(client, self.gallery_panel, self.notices)
        self.sources = SourceFolderActions(settings, self.gallery_panel, self)
        self.undo_button = self.trash.button
        self.status.addPermanentWidget(self.undo_button)  # beside the message, not over it
        build_menus(self)
        self.mode_actions = build_mode_bar(self)
        self._connect()
        self.send_to_action = connect_sources(self)
        self.drops = WindowDrops(self)
        self.sources.apply(client.gallery)  # before the first listing, so it shows them
        self.create_panel.vm.source.keep = lambda data: keep_input(self.client.gallery, data)

        self.create_panel.scan_models(settings.models_dirs, settings.last_model)
        self.create_panel.scan_wildcards(settings.wildcards_dir)
        self.create_panel.restore(settings.panel_state("create"))
        self.lab_panel.restore(settings.panel_state("lab"))
        self.scan_upscalers()
        self.upscale_panel.restore(settings.panel_state("upscale"))
        first = self.lab_panel if not self.create_panel.model_path else self.create_panel
        self.set_mode(self.modes.index(first))
        query = settings.ui_value("gallery/query")
        self.gallery_panel.set_query(query if isinstance(query, str) else "")
        self.gallery_panel.refresh()
        if client.gallery.notice:
            self.notices.say(client.gallery.notice)
        self.gallery_panel.sync()
        window_state.restore(self)
        window_state.CanvasRoom(self)  # small windows: the side areas give way first
        self._update_actions()

    # ------------------------------------------------------------ construction

    def _build_layout(self) -> None:
        self.panels = QStackedWidget()
        self.views = QStackedWidget()  # the right side: the canvas, or a mode's own view
        self.views.addWidget(self.canvas)
        for panel in self.modes:
            self.panels.addWidget(panel)
            for view in panel.own_views():
                self.views.addWidget(view)
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
        self.status = StatusBar(self.jobs, self)
        self.setStatusBar(self.status)

    def _connect(self) -> None:
        for panel in self.modes:
            if getattr(panel, "generates", False):
                panel.generate_requested.connect(self.generate)
                self.submissions.connect(panel)
        say = self.notices.say
        self.queue_dock.cancel_requested.connect(self.controls.cancel)
        self.queue_dock.stop_requested.connect(self.controls.stop)
        self.queue_dock.pause_requested.connect(self.client.pause)
        self.queue_dock.resume_requested.connect(self.client.resume)
        self.create_panel.model_chosen.connect(self._remember_model)
        self.create_panel.notice.connect(say)
        self.create_panel.models_changed.connect(self.scan_upscalers)
        self.lab_panel.training_control.connect(self.controls.control_training)
        self.lab_panel.view_changed.connect(self._show_view_of_panel)
        self.gallery_panel.open_requested.connect(self.open_image)
        self.gallery_panel.current_changed.connect(self.open_image)
        self.gallery_panel.deleted.connect(self._deleted)
        self.gallery_panel.failed.connect(lambda text: self.notices.error("Not deleted", text))
        self.gallery_panel.notice.connect(say)
        self.gallery_panel.mark_failed.connect(lambda text: self.notices.error("Not marked", text))
        self.gallery_panel.searcher.changed.connect(self.view.marks_changed)
        marker = self.gallery_panel.marker
        connect_shown_picture(marker, self.view.marked_paths, self.canvas, self.details)
        self.gallery_panel.upscale_requested.connect(self.upscale_files)
        self.sources.notice.connect(say)
        self.sources.refused.connect(lambda text: self.notices.error("Not added", text))
        self.upscale_panel.notice.connect(say)
        self.details.upscale_requested.connect(lambda path: self.upscale_files([path]))
        self.details.use_parameters.connect(self.use_parameters)
        self._connect_lineage()
        self.view.changed.connect(self._update_actions)
        self.view.saved.connect(self.gallery_panel.refresh)
        self.view.sample_clicked.connect(self.lab_panel.select_sample)
        self.trash.changed.connect(self._update_actions)
        self.client.event.connect(self.on_engine_event)

    # ------------------------------------------------------------ modes

    @property
    def current_panel(self) -> ModePanel:
        return self.modes[self.panels.currentIndex()]

    @property
    def mode(self) -> str:
        return self.current_panel.title

    def set_mode(self, index: int) -> None:
        panel = self.modes[index]
        self.panels.setCurrentIndex(index)
        self.views.setCurrentWidget(panel.shown_view() or self.canvas)
        self.canvas.set_placeholder(panel.canvas_hint)
        self.mode_actions[index].setChecked(True)
        self.generate_action.setEnabled(panel.generates)
        # The gallery grid wants room; the control panels want the canvas to have it.
        total = sum(self.splitter.sizes()) or self.width()
        left = max(380, panel.minimumSizeHint().width()) if panel.generates else total // 2
        self.splitter.setSizes([left, total - left])
        panel.activated()

    def _show_view_of_panel(self) -> None:
        panel = self.current_panel
        self.views.setCurrentWidget(panel.shown_view() or self.canvas)

    def show_panel(self, panel: ModePanel) -> None:
        self.set_mode(self.modes.index(panel))

    # ------------------------------------------------------------ jobs

    def generate(self) -> int | None:
        """Submit the current mode's requests (all or none: a bad value gets a sentence,
        not a job); returns the last job's id."""
        panel = self.current_panel
        if not panel.generates:
            return None
        try:
            handles = self.submissions.generate(panel)
        except BadInput as exc:
            create = panel.vm if panel is self.create_panel else None
            explain_bad_input(self, self.notices, exc, create, self.generate)
            return None
        self._save_panel_states()
        return handles[-1].job_id if handles else None

    def on_engine_event(self, event: object) -> None:
        """Every job's event (after the job's own handle had it): the queue, the status
        bar and the canvas follow all jobs."""
        if isinstance(event, DeviceInfo):
            self.status.show_device(event)
            self.lab_panel.train.show_device(event.description)
            return
        state = self.jobs.get(getattr(event, "job_id", -1))  # before the event may end it
        self.jobs.apply(event)
        self.view.job_event(event, state)
        if self.quit_when_idle and not [s for s in self.jobs.active() if s.request.listed]:
            self.close()

    def use_parameters(self, meta: ImageMetadata, part: str = ALL) -> None:
        """Fill the panel that reopens the recipe, or Create (gui/reopen_recipe.py)."""
        use_parameters(self, meta, part)

    @property
    def last_error(self) -> str | None:
        """The last failure shown to the user."""
        return self.notices.last_error

    # ------------------------------------------------------------ files

    def upscale_files(self, paths: list[str]) -> None:
        """Upscale from the gallery, the details or the canvas: into the Upscale list."""
        self.show_panel(self.upscale_panel)
        self.upscale_panel.add_paths([Path(p) for p in paths])

    def upscale_shown_image(self) -> None:
        if self.view.shown_file:
            self.upscale_files([self.view.shown_file])

    def open_image(self, path: str) -> None:
        self.view.open_image(path)

    def _connect_lineage(self) -> None:
        lineage = self.details.lineage
        lineage.set_source(
            lambda path: self.client.gallery.lineage(path), lambda: self.client.gallery.root
        )
        lineage.open_requested.connect(self._open_relative)
        lineage.family_requested.connect(self.gallery_panel.set_query)

    def _open_relative(self, path: str) -> None:
        """A parent or child clicked in the details: selected in the gallery if listed
        (which opens it; looked up off the GUI thread when its row is not loaded), else
        opened on its own."""
        self.gallery_panel.select_path(path, otherwise=lambda: self.open_image(path))

    def _deleted(self, trashed: list[Trashed]) -> None:
        self.view.files_gone({str(t.original) for t in trashed})
        self.trash.deleted(trashed)

    def _update_actions(self) -> None:
        shown_final = self.canvas.image is not None and not self.showing_preview
        self.save_as_action.setEnabled(shown_final)
        self.undo_action.setEnabled(bool(self.trash.last_trashed))
        self.upscale_action.setEnabled(bool(self.shown_file) and not self.showing_preview)

    @property
    def shown_file(self) -> str | None:
        return self.view.shown_file

    @property
    def showing_preview(self) -> bool:
        return self.view.preview_job is not None

    # ------------------------------------------------------------ settings

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self.apply_settings)
        dialog.open()

    def apply_settings(self) -> None:
        self.client.set_output_dir(self.settings.output_dir)
        self.client.set_device_preference(self.settings.device)
        self.client.set_precision_preference(self.settings.precision)
        self.client.set_offload_preference(self.settings.offload)
        self.client.set_compile_preference(self.settings.compile_unet)
        self.sources.apply(self.client.gallery)
        self.gallery_panel.set_store(self.client.gallery)
        self.create_panel.scan_models(self.settings.models_dirs, self.create_panel.model_path)
        self.create_panel.scan_wildcards(self.settings.wildcards_dir)
        self.scan_upscalers()

    def scan_upscalers(self) -> None:
        """The Upscale mode's list, which Create's hires fix offers too."""
        self.upscale_panel.scan_models(self.settings.models_dirs)
        self.create_panel.hires.set_upscalers(self.upscale_panel.upscaler_entries)

    def _remember_model(self, path: str) -> None:
        self.settings.last_model = path

    def _save_panel_states(self) -> None:
        self.settings.set_panel_state("create", self.create_panel.state())
        self.settings.set_panel_state("lab", self.lab_panel.state())
        self.settings.set_panel_state("upscale", self.upscale_panel.state())
        self.settings.set_ui_value("gallery/query", self.gallery_panel.query)

    # ------------------------------------------------------------ focus and closing

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        # Back from another program (a file manager, say): look for new files.
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.gallery_panel.sync()
            self.create_panel.models.folder_watch.window_activated()
            self.create_panel.scan_wildcards()  # a list edited in another program
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.closing and ask_before_quitting(self):
            event.ignore()
            return
        self._save_panel_states()
        window_state.save(self)
        self.settings.sync()
        self.gallery_panel.close_loader()
        self.details.lineage.close_fetcher()
        self.view.opener.close()
        self.upscale_panel.close_loader()
        self.client.shutdown(self.shutdown_wait_ms)
        super().closeEvent(event)

    def close_now(self) -> None:
        """Close without asking (Quit anyway, tests): running jobs are cancelled."""
        self.closing = True
        self.close()
