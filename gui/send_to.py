"""Pictures into Create's source, from anywhere in the window: "Send to → Image to image /
Inpaint" in the gallery's menu, the details dock and the canvas's menu, Ctrl+V over the
canvas, and Create's "Use result". A file dropped on the canvas is only shown, with its
parameters (gui/window_drops.py): dropped on Create's source section, it is the source.
Whatever sets the source shows it on the canvas and switches to Create. The window's
glue only: the source itself is gui/source_section.py's.

While Inpaint is chosen, the source on the canvas carries its mask layer to paint on.
Only the source does: any other image on the canvas (a preview, a result, a gallery
file) takes the layer off (ImageCanvas.set_image), as does another mode of the window,
another way to start from the image, or Clear. The layer itself stays with the source,
so coming back to Inpaint shows the strokes again.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QStackedWidget

from gui.canvas import ImageCanvas
from gui.create_panel import CreatePanel
from gui.details_panel import DetailsPanel
from gui.gallery_panel import GalleryPanel
from gui.mode_panel import ModePanel
from gui.result_view import ResultView
from gui.send_menu import CONTROL_IMAGE, send_to_menu

SOURCE_NOTE = "Create's source image: not a result."
NO_FILE = "Control images are files: the canvas shows no saved image."


class SourceWindow(Protocol):
    canvas: ImageCanvas
    create_panel: CreatePanel
    gallery_panel: GalleryPanel
    details: DetailsPanel
    view: ResultView
    panels: QStackedWidget  # the modes' panels: the current one is the mode shown

    def show_panel(self, panel: ModePanel) -> None: ...


class SourceOnCanvas(QObject):
    """Create's source on the canvas, with its mask layer while inpainting."""

    def __init__(self, window: SourceWindow) -> None:
        super().__init__(window.canvas)  # lives as long as the canvas
        self.window, self.canvas = window, window.canvas
        self.section = window.create_panel.source
        self.tools = self.section.inpaint.tools
        self.image: QImage | None = None  # the source picture last put on the canvas
        self.section.shown.connect(self.shown)
        self.tools.opacity_changed.connect(self.canvas.set_mask_opacity)
        window.panels.currentChanged.connect(lambda _index: self.lay_mask())

    def shown(self, image: QImage | None) -> None:
        """The section's source (None: cleared) goes on the canvas, Create shown."""
        if image is None:
            self._cleared()
            return
        self.image = image
        self.window.view.show_picture(image, SOURCE_NOTE)
        self.window.show_panel(self.window.create_panel)
        self.lay_mask()

    def _cleared(self) -> None:
        """The cleared source leaves the canvas (if it is still there) for the last result."""
        if self.image is not None and self.canvas.image is self.image:
            self.window.view.show_last_result()
        self.image = None
        self.canvas.set_mask_layer(None)

    def lay_mask(self) -> None:
        """The layer on the canvas exactly while Create shows its source to inpaint."""
        layer = self.section.painting_layer
        in_create = self.window.panels.currentWidget() is self.window.create_panel
        source_shown = self.image is not None and self.canvas.image is self.image
        if layer is None or not in_create or not source_shown:
            self.canvas.set_mask_layer(None)
        elif self.canvas.mask_layer is not layer:
            self.canvas.set_mask_layer(layer, self.tools.opacity)


def connect_sources(window: SourceWindow) -> QAction:
    """Wire every way into Create's source; returns the canvas's "Send to" action."""
    section = window.create_panel.source
    canvas = window.canvas

    control = window.create_panel.control

    def send(path: str, kind: str) -> None:
        if kind == CONTROL_IMAGE:  # a unit's image: Create's source stays as it is
            control.send_image(path)
            window.show_panel(window.create_panel)
        else:
            section.open_file(path, kind)

    def to_control(field) -> None:
        """Control's "Use result": the file the canvas shows into that image field."""
        if window.view.shown_file:
            field.set(window.view.shown_file)
        else:
            section.notice.emit(NO_FILE)

    def use_result(kind: str | None = None) -> None:
        if kind == CONTROL_IMAGE:
            if window.view.shown_file:
                send(window.view.shown_file, kind)
            else:
                section.notice.emit(NO_FILE)
        elif window.view.shown_file:
            section.open_file(window.view.shown_file, kind)
        elif canvas.image is not None and window.view.preview_job is None:
            section.set_image(canvas.image.copy(), "The canvas's image", kind)
        else:
            section.notice.emit("There is no finished image on the canvas to start from.")

    SourceOnCanvas(window)
    section.use_result_requested.connect(use_result)
    control.use_result_requested.connect(to_control)
    window.gallery_panel.send_to_requested.connect(send)
    window.details.send_to_requested.connect(send)
    menu = send_to_menu(canvas, use_result)
    canvas.addActions([menu.menuAction(), section.paste_action])
    return menu.menuAction()
