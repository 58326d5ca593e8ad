"""The "Send to" menu the gallery, the details dock and the canvas share: one item per
way Create starts from a picture (gui/send_to.py wires what a click does)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QWidget

from gui.viewmodels.source import IMG2IMG, INPAINT

CONTROL_IMAGE = "control"  # a control unit's image (Create's control section)
SEND_KINDS = {IMG2IMG: "Image to image", INPAINT: "Inpaint", CONTROL_IMAGE: "Control image"}


def send_to_menu(parent: QWidget, send: Callable[[str], None]) -> QMenu:
    """ "Send to" with one item per way to start from an image; `send(kind)` on a click."""
    menu = QMenu("Send to", parent)
    for kind, title in SEND_KINDS.items():
        menu.addAction(title, lambda k=kind: send(k))
    return menu
