"""Image details: everything an image says about how it was made, and what to do with it.

Our images show their recipe; other tools' PNGs their A1111 `parameters` (prompt,
negative, steps, sampler, CFG, seed, size, model, and every other key as it is), or what
engine.store.foreign read from any other tool's metadata (gui/details_foreign.py); the
rows themselves are written by gui/details_describe.py.
Buttons: Use these parameters (all or in part: gui/use_parts.py; fills Create or the
Lab), Copy prompt, Copy seed, Copy parameters (the A1111 text), Show in folder.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.api.requests import SampleRequest, Txt2ImgRequest
from engine.store import ImageMetadata
from engine.store.foreign import ForeignRead
from engine.store.foreign.as_a1111 import as_a1111_text
from engine.store.marks import Marks
from gui.details_describe import describe as describe  # re-exported: callers import it here
from gui.details_describe import describe_picture
from gui.details_foreign import NOT_MAPPED, unmapped_tip
from gui.details_lineage import LineageRow
from gui.details_marks import keep_focus, marks_control
from gui.details_rows import marks_rows
from gui.reveal import reveal_in_folder
from gui.send_menu import send_to_menu
from gui.use_parts import use_button

EMPTY = "Select an image in the gallery, or make one, to see how it was made."


def breakable(text: str) -> str:
    """Long words (paths, hashes, seeds) get places to wrap (zero-width spaces), after each
    separator and every 12 characters: a label wraps only at spaces, and the dock would
    otherwise cut them at its edge."""
    return _LONG_WORD.sub(lambda m: _wrap_points(m.group(0)), text)


def _wrap_points(word: str) -> str:
    parts = re.split(r"(?<=[/\\_\-.])", word)
    chunks = [p[i : i + 12] for p in parts for i in range(0, len(p), 12)]
    return ZERO_WIDTH_SPACE.join(chunks)


ZERO_WIDTH_SPACE = "\u200b"
_LONG_WORD = re.compile(r"\S{16,}")


class DetailsPanel(QWidget):
    use_parameters = Signal(object, str)  # the ImageMetadata, which part (gui/use_parts.py)
    upscale_requested = Signal(str)  # the image's path
    send_to_requested = Signal(str, str)  # the image's path, how Create starts from it
    stars_chosen = Signal(str, int)  # the image's path, its stars (clicked in the Stars row)
    board_left = Signal(str, str)  # the image's path, the board it leaves (× in Boards)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keys 0-5 and B act on its picture
        self.meta: ImageMetadata | None = None
        self.foreign: ForeignRead | None = None  # what another tool's metadata says
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.grid.setVerticalSpacing(4)
        body = QWidget()
        packed = QVBoxLayout(body)  # rows at the top, however tall the dock is
        packed.setContentsMargins(0, 0, 0, 0)
        packed.addLayout(self.grid)
        self.lineage = LineageRow()  # parents and children, fetched off the GUI thread
        packed.addWidget(self.lineage)
        packed.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.use_button = use_button(self, self._use)
        self.copy_prompt = QPushButton("Copy prompt")
        self.copy_prompt.clicked.connect(lambda: self._copy(self.prompt()))
        self.copy_seed = QPushButton("Copy seed")
        self.copy_seed.clicked.connect(lambda: self._copy(str(self.seed())))
        self.copy_parameters = QPushButton("Copy parameters")
        self.copy_parameters.setToolTip("The A1111 parameters text, as other tools read it")
        self.copy_parameters.clicked.connect(lambda: self._copy(self.parameters_text()))
        self.upscale_button = QPushButton("Upscale…")
        self.upscale_button.setToolTip("Add this image to the Upscale list")
        self.upscale_button.clicked.connect(self._upscale)
        self.send_button = QPushButton("Send to")
        self.send_button.setToolTip("Start Create from this image")
        self.send_button.setMenu(send_to_menu(self.send_button, self._send))
        self.reveal = QPushButton("Show in folder")
        self.reveal.clicked.connect(
            lambda: self.meta and self.meta.path and reveal_in_folder(self.meta.path, self)
        )

        buttons = QGridLayout()
        buttons.addWidget(self.use_button, 0, 0)
        buttons.addWidget(self.upscale_button, 0, 1)
        buttons.addWidget(self.copy_prompt, 1, 0)
        buttons.addWidget(self.copy_seed, 1, 1)
        buttons.addWidget(self.copy_parameters, 2, 0)
        buttons.addWidget(self.reveal, 2, 1)
        buttons.addWidget(self.send_button, 3, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.show_metadata(None)

    def show_metadata(
        self,
        meta: ImageMetadata | None,
        empty: str = EMPTY,
        foreign: ForeignRead | None = None,
        marks: Marks | None = None,
        on_disk: bool | None = None,
        locked: str = "",
    ) -> None:
        """Describe `meta` (and what `foreign` read of another tool's metadata, and the
        gallery's stars and boards); with None, say `empty` (why there is nothing).
        `on_disk`: whether its file exists, when the caller knows (it read it off the
        GUI thread); None looks, on this thread. `locked`: why the picture cannot be
        starred (outside the gallery): its Stars row is shown disabled, saying so."""
        self.meta, self.foreign = meta, foreign if meta is not None else None
        self.marks = marks if meta is not None else None
        self.locked = locked if meta is not None else ""
        keep_focus(self)  # the focused row goes: the dock keeps the focus (keys 0-5, B)
        while self.grid.count():
            gone = self.grid.takeAt(0).widget()
            gone.hide()  # at once: a click until it is deleted would act on the old rows
            gone.deleteLater()
        rows = self.rows()
        if not rows:
            note = QLabel(empty)
            note.setWordWrap(True)
            note.setStyleSheet("color: #8a8a8a;")
            self.grid.addWidget(note, 0, 0, 1, 2)
        for i, (label, value) in enumerate(rows):
            name = QLabel(f"<b>{html.escape(label)}</b>")
            name.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            if (control := marks_control(label, self)) is not None:
                self.grid.addWidget(name, i, 0)
                self.grid.addWidget(control, i, 1)
                continue
            text = QLabel(html.escape(breakable(value)).replace("\n", "<br>"))
            text.setWordWrap(True)
            text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if label == NOT_MAPPED:  # the names here, the raw values on hover
                text.setToolTip(html.escape(unmapped_tip(self.foreign)).replace("\n", "<br>"))
                name.setToolTip(text.toolTip())
            self.grid.addWidget(name, i, 0)
            self.grid.addWidget(text, i, 1)
        usable = meta is not None and (
            isinstance(meta.request, Txt2ImgRequest | SampleRequest)
            or bool(meta.parameters_text)
            or bool(self.foreign and self.foreign.fields)
        )
        self.lineage.show_for(meta.path if meta is not None else None)
        self.use_button.setEnabled(usable)
        self.copy_prompt.setEnabled(bool(self.prompt()))
        self.copy_seed.setEnabled(self.seed() is not None)
        self.copy_parameters.setEnabled(bool(self.parameters_text()))
        if on_disk is None:
            on_disk = bool(meta and meta.path and Path(meta.path).exists())
        self.on_disk = bool(meta and meta.path and on_disk)
        self.reveal.setEnabled(self.on_disk)
        self.upscale_button.setEnabled(self.on_disk)
        self.send_button.setEnabled(self.on_disk)

    def rows(self) -> list[tuple[str, str]]:
        """What is shown, as (label, value) pairs (tests read it)."""
        if self.meta is None:
            return []
        return describe_picture(self.meta, self.foreign) + marks_rows(self.marks)

    def prompt(self) -> str:
        """The shown picture's prompt, from its recipe, its A1111 text or another tool's."""
        if self.meta is not None and self.meta.prompt:
            return self.meta.prompt
        return str(self.foreign.fields.get("prompt", "")) if self.foreign else ""

    def parameters_text(self) -> str:
        """The A1111 text: the picture's own, else one written from what was read."""
        if self.meta is not None and self.meta.parameters_text:
            return self.meta.parameters_text
        return (as_a1111_text(self.foreign) or "") if self.meta is not None and self.foreign else ""

    def seed(self) -> int | None:
        if self.meta is not None and self.meta.seed is not None:
            return self.meta.seed
        seed = self.foreign.fields.get("seed") if self.foreign else None
        return seed if isinstance(seed, int) else None

    def _use(self, part: str) -> None:
        if self.meta is not None:
            self.use_parameters.emit(self.meta, part)

    def _upscale(self) -> None:
        if self.meta is not None and self.meta.path:
            self.upscale_requested.emit(str(self.meta.path))

    def _send(self, kind: str) -> None:
        if self.meta is not None and self.meta.path:
            self.send_to_requested.emit(str(self.meta.path), kind)

    @staticmethod
    def _copy(text: str) -> None:
        QGuiApplication.clipboard().setText(text)


class DetailsDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Image details", parent)
        self.setObjectName("details-dock")
        self.panel = DetailsPanel()
        self.setWidget(self.panel)
