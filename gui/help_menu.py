"""Help: the keyboard shortcuts (read from the window's own actions, so the list is
always the one that works) and About (version, where images, models and settings live)."""

from __future__ import annotations

import html
from typing import Protocol

from PySide6 import __version__ as pyside_version
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar, QMessageBox

from engine.api.catalogue import user_models_dir
from engine.store.metadata import app_version
from gui.settings import AppSettings
from gui.status_bar import StatusBar

CANVAS_KEYS = (  # the canvas's mouse, which no action lists
    ("Double-click", "Toggle 1:1 and fit (canvas and before/after view)"),
    ("Wheel", "Zoom about the cursor"),
    ("Drag", "Pan a zoomed image"),
)


class HelpWindow(Protocol):
    """What Help uses of the main window (MainWindow has it all; typed here so that this
    module does not import the window that imports it). The window is also the Qt parent
    of the actions and boxes."""

    settings: AppSettings
    status: StatusBar
    help_box: QMessageBox | None  # the open box (tests read it)

    def menuBar(self) -> QMenuBar: ...  # noqa: N802

    def findChildren(self, kind: type[QAction], /) -> list[QAction]: ...  # noqa: N802


def add_help_menu(window: HelpWindow) -> None:
    menu = window.menuBar().addMenu("&Help")
    shortcuts = QAction("Keyboard Shortcuts", window)
    shortcuts.triggered.connect(lambda: show_shortcuts(window))
    about = QAction("About Latent Studio", window)
    about.triggered.connect(lambda: show_about(window))
    menu.addActions([shortcuts, about])


def shortcut_rows(window: HelpWindow) -> list[tuple[str, str]]:
    """(keys, what they do) for every action of the window that has a shortcut."""
    rows = []
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if keys and action.text():
            rows.append((" or ".join(dict.fromkeys(keys)), action.text().replace("&", "")))
    return sorted(set(rows), key=lambda row: row[1]) + list(CANVAS_KEYS)


def show_shortcuts(window: HelpWindow) -> QMessageBox:
    table = "".join(
        f"<tr><td><b>{html.escape(keys)}</b>&nbsp;&nbsp;</td><td>{html.escape(what)}</td></tr>"
        for keys, what in shortcut_rows(window)
    )
    box = QMessageBox(
        QMessageBox.Icon.NoIcon, "Keyboard Shortcuts", f"<table>{table}</table>", parent=window
    )
    box.open()
    window.help_box = box
    return box


def show_about(window: HelpWindow) -> QMessageBox:
    settings = window.settings
    text = (
        f"<h3>Latent Studio {html.escape(app_version())}</h3>"
        "<p>Generative imaging on your own machine: Stable Diffusion from your model files, "
        "and the Latent Lab's VAE, GAN and DDPM. Nothing is downloaded.</p>"
        f"<p>Images: {html.escape(str(settings.output_dir))}<br>"
        f"Trained models: {html.escape(str(user_models_dir()))}<br>"
        f"Settings: {html.escape(str(settings.path))}<br>"
        f"Engine: {html.escape(window.status.device_label.text())} · Qt {pyside_version}</p>"
    )
    box = QMessageBox(QMessageBox.Icon.Information, "About Latent Studio", text, parent=window)
    box.open()
    window.help_box = box
    return box
