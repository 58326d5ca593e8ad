"""Pictures into Create's source, from anywhere in the window: "Send to → Image to image /
Inpaint" in the gallery's menu, the details dock and the canvas's menu, a file dropped on
the canvas, Ctrl+V over it, and Create's "Use result". Whatever sets the source shows it
on the canvas and switches to Create. The window's glue only: the source itself is
gui/source_section.py's."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QAction, QImage

from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.details_panel import DetailsPanel
from gui.gallery_panel import GalleryPanel
from gui.mode_panel import ModePanel
from gui.result_view import ResultView
from gui.send_menu import send_to_menu
from gui.source_section import SourceDrops


class SourceWindow(Protocol):
    canvas: ImageCanvas
    create_panel: CreatePanel
    gallery_panel: GalleryPanel
    details: DetailsPanel
    view: ResultView

    def show_panel(self, panel: ModePanel) -> None: ...


def connect_sources(window: SourceWindow) -> QAction:
    """Wire every way into Create's source; returns the canvas's "Send to" action."""
    section = window.create_panel.source
    canvas = window.canvas

    def send(path: str, kind: str) -> None:
        section.open_file(path, kind)

    def shown(image: QImage | None) -> None:
        if image is not None:
            window.view.show_picture(image, "Create's source image: not a result.")
            window.show_panel(window.create_panel)

    def use_result(kind: str | None = None) -> None:
        if window.view.shown_file:
            section.open_file(window.view.shown_file, kind)
        elif canvas.image is not None and window.view.preview_job is None:
            section.set_image(canvas.image.copy(), "The canvas's image", kind)
        else:
            section.notice.emit("There is no finished image on the canvas to start from.")

    section.shown.connect(shown)
    section.use_result_requested.connect(use_result)
    window.gallery_panel.send_to_requested.connect(send)
    window.details.send_to_requested.connect(send)
    SourceDrops(section, canvas)
    menu = send_to_menu(canvas, use_result)
    canvas.addActions([menu.menuAction(), section.paste_action])
    return menu.menuAction()
