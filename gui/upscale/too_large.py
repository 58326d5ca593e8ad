"""Images over the megapixel guard: the engine refuses them with a sentence; the panel
offers "Upscale Anyway" for all of them at once (a window-modal box that does not
block) and resubmits them with allow_large."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from engine.api import limits
from engine.api.events import Failed
from engine.api.kinds import ErrorKind
from engine.api.requests import UpscaleRequest
from gui.image_loader import header_size


class TooLargeMixin:
    """UpscalePanel's question about images refused as too large."""

    def _ask_to_allow_large(self) -> None:
        names = [Path(p).name for p in self._large]
        if len(names) == 1:
            text = self.inputs.get(next(iter(self._large))).detail
        else:
            text = (
                f"{len(names)} images are larger than "
                f"{limits.UPSCALE_MAX_INPUT_PIXELS / 1e6:.0f} megapixels: {', '.join(names)}. "
                "If they are real images, upscale them anyway; a small file that claims such "
                "a size is damaged or made to exhaust memory."
            )
        if self._large_box is not None and self._large_box.isVisible():
            self._large_box.setText(text)  # one question for all of them
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Upscale anyway?", text, parent=self)
        anyway = box.addButton("Upscale Anyway", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Skip", QMessageBox.ButtonRole.RejectRole)
        box.finished.connect(lambda _r: self._large_answer(box.clickedButton() is anyway))
        self._large_box = box
        box.open()  # window-modal, not blocking

    def _large_answer(self, anyway: bool) -> None:
        requests, self._large = list(self._large.values()), {}
        if anyway:
            for request in requests:
                self.submit_requested.emit(dataclasses.replace(request, allow_large=True))


def refused_as_too_large(request: UpscaleRequest, event: Failed) -> bool:
    """Whether the engine's megapixel guard refused the image (the user may confirm)."""
    if event.kind is not ErrorKind.BAD_INPUT or request.allow_large:
        return False
    size = header_size(request.image.path)
    if size.isValid():
        return size.width() * size.height() > limits.UPSCALE_MAX_INPUT_PIXELS
    return "megapixels" in event.message  # a format Qt cannot read the header of
