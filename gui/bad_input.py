"""A Generate refused before any job started: a sentence, and for Create's odd sizes the
nearest size Stable Diffusion draws, with a button that uses it and generates."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QSpinBox, QWidget

from engine.api.errors import BadInput
from engine.api.limits import SIZE_MULTIPLE, nearest_multiple
from gui.notices import Notices


def explain_bad_input(
    parent: QWidget,
    notices: Notices,
    exc: BadInput,
    size_boxes: tuple[QSpinBox, QSpinBox] | None,
    generate: Callable[[], object],
) -> None:
    """Say why; `size_boxes` (width, height) when Create asked, to offer the nearest size."""
    odd = [
        (name, box)
        for name, box in zip(("Width", "Height"), size_boxes or (), strict=False)
        if box.value() % SIZE_MULTIPLE
    ]
    message = exc.message
    if odd:
        sizes = " and ".join(f"{name.lower()} {box.value()}" for name, box in odd)
        nearest = " × ".join(str(nearest_multiple(box.value())) for box in size_boxes)
        message = (
            f"Stable Diffusion draws sizes in steps of {SIZE_MULTIPLE} pixels; the "
            f"{sizes} {'is' if len(odd) == 1 else 'are'} not. The nearest size is {nearest}."
        )
    notices.last_error = message
    notices.say(exc.message, 10_000)
    box = QMessageBox(QMessageBox.Icon.Warning, "Cannot generate", message, parent=parent)
    fix = None
    if odd:
        fix = box.addButton("Use nearest size and generate", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)

    def answered(_result: int) -> None:
        if fix is not None and box.clickedButton() is fix:
            for size in size_boxes:
                size.setValue(nearest_multiple(size.value()))
            generate()

    box.finished.connect(answered)
    box.open()  # window-modal, not blocking
