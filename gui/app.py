"""Start the desktop application: Qt, the theme, the engine client and the main window."""

from __future__ import annotations

import logging
import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from engine.api.events import DeviceInfo
from engine.local_engine import LocalEngine, stuck_workers
from engine.resources import APP_ICON
from gui.gui_thread_gc import GuiThreadCollector
from gui.main_window import MainWindow
from gui.settings import APP_NAME, AppSettings
from gui.theme import apply_dark_theme

log = logging.getLogger(__name__)


ENGINE_START_DELAY_MS = 50


def create_main_window(settings: AppSettings, cluster: str | None = None) -> MainWindow:
    client = create_engine(settings, cluster)
    window = MainWindow(client, settings)
    # The engine imports torch on its threads for a few seconds, and while it does the
    # GUI thread gets the interpreter less often: let the window paint first.
    QTimer.singleShot(ENGINE_START_DELAY_MS, client.start)
    return window


def create_engine(settings: AppSettings, cluster: str | None = None) -> LocalEngine:
    """This computer's engine, or the Ray cluster's (--cluster, LATENTSTUDIO_CLUSTER, or
    Settings → Engine, in that order); ray is imported only for a cluster."""
    from engine.cluster.connect import chosen_address

    address = chosen_address(cluster) or settings.cluster_address
    if not address:
        return LocalEngine(
            settings.output_dir,
            settings.device,
            precision_preference=settings.precision,
            offload_preference=settings.offload,
            compile_preference=settings.compile_unet,
        )
    from engine.cluster.ray_engine import RayEngine

    return RayEngine(
        settings.output_dir,
        address,
        settings.device,
        precision_preference=settings.precision,
        offload_preference=settings.offload,
        compile_preference=settings.compile_unet,
    )


def exit_now_if_engine_is_stuck(code: int) -> None:
    """An engine thread still inside a load that cannot be interrupted must not be
    destroyed by Qt (that aborts the process): end the process around it instead. The
    settings and the gallery were already written and closed by the window."""
    if stuck_workers():
        log.warning("an engine thread is still busy; exiting without waiting for it")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class QuitWhenPainted(QObject):
    """`--quit-when-shown`: at the window's first paint, say when (seconds since the
    epoch, for start-up benchmarks) and close, as a user would."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            if sys.stdout is not None:  # None in a windowed bundle on Windows and macOS
                print(f"shown {time.time():.3f}", flush=True)
            QTimer.singleShot(0, self.window.close_now)
        return False


def settle_when_engine_started(window: MainWindow, collector: GuiThreadCollector) -> None:
    """The engine announces its device once torch is imported: start-up's objects are
    then all made, and the collector freezes them (one pause, while nothing is asked)."""

    def started(event: object) -> None:
        if isinstance(event, DeviceInfo) and not collector.settled:
            QTimer.singleShot(0, collector.settle)

    window.client.event.connect(started)


def run_app(
    argv: list[str] | None = None, quit_when_shown: bool = False, cluster: str | None = None
) -> int:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("LatentStudio")
    app.setDesktopFileName("latentstudio")  # the .desktop file's name: the dock's icon
    app.setWindowIcon(QIcon(str(APP_ICON)))
    apply_dark_theme(app)
    collector = GuiThreadCollector(app)  # before any engine thread starts
    window = create_main_window(AppSettings(), cluster)
    settle_when_engine_started(window, collector)
    if quit_when_shown:
        window.installEventFilter(QuitWhenPainted(window))
    window.show()
    code = app.exec()
    exit_now_if_engine_is_stuck(code)
    return code
