"""Start the desktop application: Qt, the theme, the engine client and the main window."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.client import EngineClient, stuck_workers
from gui.main_window import MainWindow
from gui.settings import APP_NAME, AppSettings
from gui.theme import apply_dark_theme

log = logging.getLogger(__name__)


ENGINE_START_DELAY_MS = 50


def create_main_window(settings: AppSettings) -> MainWindow:
    client = EngineClient(settings.output_dir, settings.device)
    window = MainWindow(client, settings)
    # The engine imports torch on its threads for a few seconds, and while it does the
    # GUI thread gets the interpreter less often: let the window paint first.
    QTimer.singleShot(ENGINE_START_DELAY_MS, client.start)
    return window


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


def run_app(argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("LatentStudio")
    apply_dark_theme(app)
    window = create_main_window(AppSettings())
    window.show()
    code = app.exec()
    exit_now_if_engine_is_stuck(code)
    return code
