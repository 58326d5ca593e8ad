"""The main window: a shell of modes, the shared canvas, the queue dock and the status bar.

Engine events go into the view-models (jobs, results); widgets show those. A mode panel
builds requests and hears about the jobs it submitted; nothing here knows one mode's
controls. The window never waits on the engine: everything arrives as a signal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from engine.api.errors import BadInput
from engine.api.events import ENDINGS, DeviceInfo, Failed, Finished, Preview
from engine.api.limits import nearest_multiple
from engine.api.outcomes import ModelOutcome
from engine.client import EngineClient
from engine.store import StoreError, save_png_copy
from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.gallery_panel import GalleryPanel
from gui.images import image_grid, rgb_to_qimage
from gui.lab_panel import LabPanel
from gui.mode_panel import ModePanel
from gui.queue_dock import QueueDock
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from gui.status_bar import StatusBar
from gui.viewmodels.jobs import JobsModel, JobState, JobStatus
from gui.viewmodels.results import ResultsModel

SHUTDOWN_WAIT_MS = 3_000  # then engine threads stuck in a load are left to the OS


class MainWindow(QMainWindow):
    def __init__(self, client: EngineClient, settings: AppSettings) -> None:
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

        self.canvas = ImageCanvas()
        self.create_panel = CreatePanel()
        self.lab_panel = LabPanel()
        self.gallery_panel = GalleryPanel(client.gallery)
        self.modes: list[QWidget] = [self.create_panel, self.lab_panel, self.gallery_panel]
        self.panels = QStackedWidget()
        for panel in self.modes:
            self.panels.addWidget(panel)
        self.panels.setMinimumWidth(320)
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.panels)
        splitter.addWidget(self.canvas)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        self.setCentralWidget(splitter)

        self.queue_dock = QueueDock(self.jobs, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.queue_dock)
        self.resizeDocks([self.queue_dock], [280], Qt.Orientation.Horizontal)
        self.queue_dock.cancel_requested.connect(self.cancel_job)
        self.queue_dock.stop_requested.connect(self.stop_job)
        self.queue_dock.pause_requested.connect(self.client.pause)
        self.queue_dock.resume_requested.connect(self.client.resume)
        self.status = StatusBar(self.jobs, self)
        self.setStatusBar(self.status)

        self._build_actions()
        self._build_mode_bar()

        for panel in self.modes:
            if getattr(panel, "generates", False):
                panel.generate_requested.connect(self.generate)
        self.create_panel.model_chosen.connect(self._remember_model)
        self.gallery_panel.open_requested.connect(self.open_image)
        self.gallery_panel.failed.connect(lambda message: self._show_error("Not deleted", message))
        self.results.shown_changed.connect(self._show_result)
        self.results.model_written.connect(self._model_written)
        self.client.event.connect(self.on_engine_event)

        self.create_panel.scan_models(settings.models_dirs, settings.last_model)
        self.set_mode(
            self.modes.index(
                self.lab_panel if not self.create_panel.model_path else self.create_panel
            )
        )
        self.gallery_panel.notice.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.gallery_panel.refresh()
        if client.gallery.notice:
            self.statusBar().showMessage(client.gallery.notice, 15_000)
        self.gallery_panel.sync()

    # ------------------------------------------------------------ construction

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
            "Generate",
            self.generate,
            [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")],
        )
        self.cancel_action = self._action("Cancel", self.cancel_running, QKeySequence("Esc"))
        save_as = self._action(
            "Save Image As…", self.save_image_as, QKeySequence.StandardKey.SaveAs
        )
        settings = self._action("Settings…", self.open_settings, QKeySequence("Ctrl+,"))
        quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        fit = self._action("Fit to Window", self.canvas.fit, QKeySequence("Ctrl+0"))
        actual = self._action("Actual Size", self.canvas.actual_size, QKeySequence("Ctrl+1"))

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([save_as, settings])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = menu.addMenu("&View")
        view_menu.addActions([fit, actual, self.queue_dock.toggleViewAction()])
        job_menu = menu.addMenu("&Generate")
        job_menu.addActions([self.generate_action, self.cancel_action])

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
            self.mode_actions.append(action)
        upscale = QAction("Upscale", self)
        upscale.setEnabled(False)
        upscale.setToolTip("Super-resolution arrives in a later version")
        bar.addAction(upscale)

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
        self.mode_actions[index].setChecked(True)
        self.generate_action.setEnabled(panel.generates)
        # The gallery grid wants room; the control panels want the canvas to have it.
        total = sum(self.splitter.sizes()) or self.width()
        left = 380 if panel.generates else total // 2
        self.splitter.setSizes([left, total - left])
        panel.activated()

    # ------------------------------------------------------------ jobs

    def generate(self) -> int | None:
        """Submit the current mode's request; a bad value gets a sentence, not a job."""
        panel = self.current_panel
        if not panel.generates:
            return None
        try:
            request = panel.build_request()
            job_id = self.client.submit(request)
        except BadInput as exc:
            self._explain_bad_input(exc)
            return None
        self._job_panels[job_id] = panel
        return job_id

    def _explain_bad_input(self, exc: BadInput) -> None:
        self.last_error = exc.message
        self.statusBar().showMessage(exc.message, 10_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot generate", exc.message, parent=self)
        fix = None
        panel = self.create_panel
        sizes = [b for b in (panel.width_box, panel.height_box) if b.value() % 8]
        if self.current_panel is panel and sizes:
            fix = box.addButton("Use nearest size", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(
            lambda _r: fix is not None and box.clickedButton() is fix and self._snap_sizes()
        )
        box.open()  # window-modal, not blocking

    def _snap_sizes(self) -> None:
        for b in (self.create_panel.width_box, self.create_panel.height_box):
            b.setValue(nearest_multiple(b.value()))

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
            return
        state = self.jobs.get(getattr(event, "job_id", -1))  # before the event may end it
        self.jobs.apply(event)
        if isinstance(event, Preview):
            self.canvas.set_image(rgb_to_qimage(event.rgb), keep_view=True, smooth=True)
            self._shown_file = None
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
            self._show_error("Generation failed", event.message)
        else:
            self.statusBar().showMessage("Cancelled: nothing was saved.", 5_000)

    def _show_result(self) -> None:
        shown = self.results.shown
        if shown is None:
            self.canvas.set_image(None)
            return
        pixels = shown.pixels
        if pixels:
            self.canvas.set_image(rgb_to_qimage(image_grid(pixels)))
        images = shown.images
        self._shown_file = images[0].path if len(images) == 1 else None
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

    def _model_written(self, outcome: ModelOutcome) -> None:
        how = "stopped early; kept" if outcome.stopped_early else "finished;"
        self.statusBar().showMessage(
            f"Training {how} step {outcome.step} in {outcome.path}", 15_000
        )

    def _show_error(self, title: str, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 15_000)
        QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self).open()

    # ------------------------------------------------------------ files and settings

    def open_image(self, path: str) -> None:
        image = QImage(path)
        if image.isNull():
            self._show_error("Cannot open image", f"{path} could not be read as an image.")
            return
        self.canvas.set_image(image)
        self._shown_file = path
        self.statusBar().showMessage(path, 5_000)

    def save_image_as(self) -> None:
        """Save what the canvas shows; images the gallery could not take keep their recipe."""
        if self.canvas.image is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save Image As", "", "PNG image (*.png)")
        if path:
            self.save_shown_image(Path(path))

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

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(self.apply_settings)
        dialog.open()

    def apply_settings(self) -> None:
        self.client.set_output_dir(self.settings.output_dir)
        self.client.set_device_preference(self.settings.device)
        self.gallery_panel.set_store(self.client.gallery)
        self.create_panel.scan_models(self.settings.models_dirs, self.create_panel.model_path)

    def _remember_model(self, path: str) -> None:
        self.settings.last_model = path

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.sync()
        self.gallery_panel.close_loader()
        self.client.shutdown(self.shutdown_wait_ms)
        super().closeEvent(event)
