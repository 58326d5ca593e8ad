"""A Generate refused before any job started: a sentence, and for Create's odd sizes the
nearest size Stable Diffusion draws, with a button that uses it and generates."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from engine.api.errors import BadInput
from engine.api.limits import SIZE_MULTIPLE
from gui.notices import Notices
from gui.viewmodels.create import CreateViewModel


def explain_bad_input(
    parent: QWidget,
    notices: Notices,
    exc: BadInput,
    create: CreateViewModel | None,
    generate: Callable[[], object],
) -> None:
    """Say why; `create` (Create's view-model) when Create asked, to offer the nearest size."""
    odd = create.odd_sides() if create is not None else []
    message = exc.message
    if odd:
        sizes = " and ".join(f"{name.lower()} {value}" for name, value in odd)
        nearest = " × ".join(str(side) for side in create.nearest_size())
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
            create.snap_size()
            generate()

    box.finished.connect(answered)
    box.open()  # window-modal, not blocking
