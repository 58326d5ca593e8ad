"""Start the desktop application: Qt, the theme, the engine client and the main window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from engine.client import EngineClient
from gui.main_window import MainWindow
from gui.settings import APP_NAME, AppSettings
from gui.theme import apply_dark_theme


def create_main_window(settings: AppSettings) -> MainWindow:
    client = EngineClient(settings.output_dir, settings.device)
    window = MainWindow(client, settings)
    client.start()
    return window


def run_app(argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("LatentStudio")
    apply_dark_theme(app)
    window = create_main_window(AppSettings())
    window.show()
    return app.exec()
