"""The main window: mode switcher, control panels, the shared canvas, queue and status bar.

It turns widget state into requests for the engine client and engine events back into
what the user sees. It never waits on the engine: everything arrives as a signal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QToolBar,
)

from engine.client import EngineClient
from engine.errors import BadInput
from engine.jobs import (
    Cancelled,
    DeviceInfo,
    Failed,
    Finished,
    Preview,
    Progress,
    Queued,
    Request,
    ResultImage,
    Started,
    Txt2ImgRequest,
    nearest_multiple,
)
from engine.store import StoreError, save_png_copy
from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.gallery_panel import GalleryPanel
from gui.images import image_grid, rgb_to_qimage
from gui.lab_panel import LabPanel
from gui.queue_dock import QueueDock
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog

MODES = ("Create", "Latent Lab", "Gallery")


def progress_text(event: Progress) -> str:
    if event.message:
        return event.message
    parts = [f"Step {event.step}/{event.total}"]
    if event.it_per_s:
        rate = event.it_per_s
        parts.append(f"{rate:.2f} it/s" if rate >= 1 else f"{1 / rate:.2f} s/it")
    if event.eta_s is not None:
        parts.append(f"ETA {event.eta_s:.0f} s" if event.eta_s >= 1 else "ETA <1 s")
    return " · ".join(parts)


class MainWindow(QMainWindow):
    def __init__(self, client: EngineClient, settings: AppSettings) -> None:
        super().__init__()
        self.setWindowTitle("Latent Studio")
        self.resize(1280, 820)
        self.client = client
        self.settings = settings
        self.last_error: str | None = None  # the last failure shown to the user
        self.last_results: tuple[ResultImage, ...] = ()
        self._requests: dict[int, Request] = {}
        self._shown_file: str | None = None  # the file on the canvas, if it came from disk

        self.canvas = ImageCanvas()
        self.create_panel = CreatePanel()
        self.lab_panel = LabPanel()
        self.gallery_panel = GalleryPanel(client.gallery)
        self.panels = QStackedWidget()
        for panel in (self.create_panel, self.lab_panel, self.gallery_panel):
            self.panels.addWidget(panel)
        self.panels.setMinimumWidth(320)
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.panels)
        splitter.addWidget(self.canvas)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])
        self.setCentralWidget(splitter)

        self.queue_dock = QueueDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.queue_dock)
        self.queue_dock.cancel_requested.connect(self.client.cancel)

        self._build_status_bar()
        self._build_actions()
        self._build_mode_bar()

        self.create_panel.generate_requested.connect(self.generate)
        self.create_panel.model_chosen.connect(self._remember_model)
        self.lab_panel.generate_requested.connect(self.generate)
        self.gallery_panel.open_requested.connect(self.open_image)
        self.client.event.connect(self.on_engine_event)

        self.create_panel.scan_models(settings.models_dirs, settings.last_model)
        self.set_mode(1 if not self.create_panel.model_path else 0)
        self.gallery_panel.refresh()
        if client.gallery.notice:
            self.statusBar().showMessage(client.gallery.notice, 15_000)

    # ------------------------------------------------------------ construction

    def _build_status_bar(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.progress_label = QLabel()
        self.device_label = QLabel("Starting engine…")
        self.device_label.setToolTip("The device the engine computes on (Settings → Device)")
        bar = self.statusBar()
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.device_label)

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
        for i, name in enumerate(MODES):
            action = QAction(name, self, checkable=True)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            action.setToolTip(f"{name} (Alt+{i + 1})")
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
    def mode(self) -> str:
        return MODES[self.panels.currentIndex()]

    def set_mode(self, index: int) -> None:
        self.panels.setCurrentIndex(index)
        self.mode_actions[index].setChecked(True)
        self.generate_action.setEnabled(MODES[index] != "Gallery")
        # The gallery grid wants room; the control panels want the canvas to have it.
        total = sum(self.splitter.sizes()) or self.width()
        left = total // 2 if MODES[index] == "Gallery" else 380
        self.splitter.setSizes([left, total - left])
        if MODES[index] == "Gallery":
            self.gallery_panel.refresh()

    # ------------------------------------------------------------ jobs

    def generate(self) -> int | None:
        """Submit the current view's request; a bad value gets a sentence, not a job."""
        panel = self.lab_panel if self.mode == "Latent Lab" else self.create_panel
        if self.mode == "Gallery":
            return None
        try:
            request = panel.build_request()
            job_id = self.client.submit(request)
        except BadInput as exc:
            self._explain_bad_input(exc)
            return None
        self._requests[job_id] = request
        return job_id

    def _explain_bad_input(self, exc: BadInput) -> None:
        self.last_error = exc.message
        self.statusBar().showMessage(exc.message, 10_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot generate", exc.message, parent=self)
        fix = None
        panel = self.create_panel
        sizes = [b for b in (panel.width_box, panel.height_box) if b.value() % 8]
        if self.mode == "Create" and sizes:
            fix = box.addButton("Use nearest size", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(
            lambda _r: fix is not None and box.clickedButton() is fix and self._snap_sizes()
        )
        box.open()  # window-modal, not blocking

    def _snap_sizes(self) -> None:
        for b in (self.create_panel.width_box, self.create_panel.height_box):
            b.setValue(nearest_multiple(b.value()))

    def cancel_running(self) -> None:
        job_id = self.client.cancel_running()
        if job_id is not None:
            self.queue_dock.set_status(job_id, "cancelling…")
            self.statusBar().showMessage("Cancelling…")

    # ------------------------------------------------------------ events

    def on_engine_event(self, event) -> None:
        handler = {
            Queued: self._on_queued,
            Started: self._on_started,
            Progress: self._on_progress,
            Preview: self._on_preview,
            Finished: self._on_finished,
            Cancelled: self._on_cancelled,
            Failed: self._on_failed,
            DeviceInfo: self._on_device,
        }.get(type(event))
        if handler is not None:
            handler(event)

    def _on_queued(self, event: Queued) -> None:
        self.queue_dock.add(event.job_id, event.request)

    def _on_started(self, event: Started) -> None:
        self.queue_dock.set_status(event.job_id, "running")
        self.last_results = ()  # Save As now means this job's images
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText("Starting…")

    def _on_progress(self, event: Progress) -> None:
        self.progress.setRange(0, max(1, event.total))
        self.progress.setValue(event.step)
        self.progress_label.setText(progress_text(event))
        self.queue_dock.set_status(event.job_id, f"{event.step}/{event.total}")

    def _on_preview(self, event: Preview) -> None:
        self.canvas.set_image(rgb_to_qimage(event.rgb), keep_view=True, smooth=True)
        self._shown_file = None

    def _on_finished(self, event: Finished) -> None:
        self._job_ended(event.job_id, "done")
        results = event.results
        self.last_results = results
        if results:
            self.canvas.set_image(rgb_to_qimage(image_grid([r.rgb for r in results])))
            self._shown_file = results[0].path if len(results) == 1 else None
            panel = self.lab_panel if self._is_lab(event.job_id) else self.create_panel
            panel.seed.set_last_seed(results[0].seed)
        saved = [r for r in results if r.path]
        failed = [r for r in results if r.save_error]
        if saved:
            folder = Path(saved[0].path).parent
            self.statusBar().showMessage(f"Saved {len(saved)} image(s) to {folder}", 10_000)
            self.gallery_panel.refresh()
        if failed:
            self._show_error(
                "Not saved",
                f"{failed[0].save_error}\n\nUse File → Save Image As… to keep it elsewhere.",
            )

    def _on_cancelled(self, event: Cancelled) -> None:
        self._job_ended(event.job_id, "cancelled")
        self.statusBar().showMessage("Cancelled: nothing was saved.", 5_000)

    def _on_failed(self, event: Failed) -> None:
        self._job_ended(event.job_id, "failed")
        self._show_error("Generation failed", event.message)

    def _on_device(self, event: DeviceInfo) -> None:
        self.device_label.setText(event.description)

    def _job_ended(self, job_id: int, status: str) -> None:
        self.queue_dock.set_status(job_id, status, done=True)
        self._requests.pop(job_id, None)
        if self.client.running_job_id in (None, job_id) and not self.client.pending_job_ids():
            self.progress.hide()
            self.progress_label.clear()

    def _is_lab(self, job_id: int) -> bool:
        return not isinstance(self._requests.get(job_id), Txt2ImgRequest)

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
        image = self.canvas.image
        if image is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save Image As", "", "PNG image (*.png)")
        if path:
            self.save_shown_image(Path(path))

    def save_shown_image(self, path: Path) -> list[Path]:
        """Write the shown image(s) to `path` (name-2.png, name-3.png… for a batch)."""
        path = path.with_suffix(".png")
        unsaved = [r for r in self.last_results if r.save_error]
        targets: list[Path] = []
        try:
            if self._shown_file:  # a copy of the file keeps its embedded recipe
                shutil.copyfile(self._shown_file, path)
                targets.append(path)
            elif unsaved:
                for i, result in enumerate(unsaved):
                    target = path if i == 0 else path.with_stem(f"{path.stem}-{i + 1}")
                    targets.append(save_png_copy(result.rgb, target, result.png_text))
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
        self.client.shutdown()
        super().closeEvent(event)
