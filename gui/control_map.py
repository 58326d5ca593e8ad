"""The control map beside a unit's image (issue 22): what the preprocessor makes of the
image at the output size, before anything is generated.

The map is made by the engine (ControlMapRequest, on the interactive lane: it does not
wait behind a generation); the GUI thread never reads the file nor preprocesses. A
change of the image, preprocessor, its settings, the resize mode or the output size asks
again after a pause (DEBOUNCE_MS): the latest ask wins, an older answer is ignored. A
map that cannot be made (an annotator's file missing, an unreadable image) says why in
the thumbnail's place, not in a box.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from engine.api.errors import BadInput
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.requests import ControlMapRequest, Request
from engine.handle import JobHandle
from gui.control_image import THUMB_SIDE
from gui.images import rgb_to_qimage
from gui.viewmodels.control import ControlUnitViewModel
from gui.viewmodels.fields import Field

DEBOUNCE_MS = 300
NO_MAP = "No map"
MAKING = "Making the map…"

Send = Callable[[Request], JobHandle | None]


class MapPreview(QObject):
    """A unit's map thumbnail (`thumb`) and, when it cannot be made, the sentence why
    (`note`, also the thumbnail's tooltip)."""

    def __init__(self, unit: ControlUnitViewModel, width: Field, height: Field, send: Send) -> None:
        super().__init__()
        self.unit, self.width, self.height, self.send = unit, width, height, send
        self.thumb = QLabel(NO_MAP)
        self.thumb.setFixedSize(THUMB_SIDE, THUMB_SIDE)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setWordWrap(True)
        self.thumb.setStyleSheet("border: 1px dashed #555; color: #8a8a8a; font-size: 9px;")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #d08770;")
        self.note.setVisible(False)
        self.asked = 0  # each change counts; an answer to an older count is ignored
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.ask)
        fields = (unit.image, unit.preprocessor, unit.settings_changed, unit.resize_mode)
        for field in (*fields, width, height):
            field.changed.connect(self.schedule)
        self.schedule()

    def schedule(self, *_args: object) -> None:
        self.asked += 1
        if not self.unit.image.value:
            self.timer.stop()
            self._show_text(NO_MAP)
            return
        self.timer.start()

    def ask(self) -> None:
        number = self.asked
        request = ControlMapRequest(
            unit=self.unit.map_unit(), width=self.width.value, height=self.height.value
        )
        try:
            request.validate()
        except BadInput as exc:
            self._show_problem(exc.message)
            return
        handle = self.send(request)
        if handle is None:
            return
        self._show_text(MAKING, keep_picture=True)
        handle.finished.connect(lambda outcome: self._answered(number, outcome))
        handle.failed.connect(lambda message, _kind: self._refused(number, message))

    def _answered(self, number: int, outcome: Outcome) -> None:
        if number != self.asked or not isinstance(outcome, ImagesOutcome) or not outcome.images:
            return
        side = THUMB_SIDE - 2
        smooth = Qt.TransformationMode.SmoothTransformation
        picture = QPixmap.fromImage(rgb_to_qimage(outcome.images[0].rgb)).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, smooth
        )
        self.thumb.setText("")
        self.thumb.setPixmap(picture)
        self.thumb.setToolTip(
            f"The {self.unit.preprocessor.value} map at {self.width.value}×{self.height.value}"
        )
        self.note.setVisible(False)

    def _refused(self, number: int, message: str) -> None:
        if number == self.asked:
            self._show_problem(message)

    def _show_problem(self, message: str) -> None:
        self._show_text("No map", tip=message)
        self.note.setText(message)
        self.note.setVisible(True)

    def _show_text(self, text: str, tip: str = "", keep_picture: bool = False) -> None:
        if keep_picture and self.thumb.pixmap() is not None and not self.thumb.pixmap().isNull():
            self.thumb.setToolTip(text)
            return
        self.thumb.clear()
        self.thumb.setText(text)
        self.thumb.setToolTip(tip)
        self.note.setVisible(False)
