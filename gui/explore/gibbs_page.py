"""Explore → Gibbs chain (RBM): the hidden units' filters, strongest first; a Gibbs chain
from random pixels as a filmstrip of its visible means at chosen steps, played as an
animation (its last frame is the sample of that seed and chain length); and a held-out
image (a digit, or a colour image for a Gaussian machine) with its upper half clamped
while a few chains fill in the lower half. Every answer comes from the engine on the
interactive lane: a spin sends one small job, and nothing here reads a file."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.outcomes import ImagesOutcome, Outcome, ResultImage
from engine.api.parts import ModelRef
from engine.api.requests import GibbsRequest, Request
from gui.explore.animation import AnimationPlayer
from gui.explore.page import ExplorePage, about_label
from gui.images import rgb_to_qimage
from gui.widgets import spin_box

FILTER_COLUMNS = 10  # the Lab's panel is about 400 pixels wide
FILTER_TILE = 30  # a filter's side on screen (an 8 x 8 unit, nearest neighbour)
FILTER_ROWS_SHOWN = 3  # the filters' scroll area shows this many rows at once
FRAME_COLUMNS = 6  # the chain's frames: two rows of six
FRAME_TILE = 40  # a chain frame's or a completion's side on screen
COMPLETION_COLUMNS = 1 + 16  # the digit, then up to GibbsRequest's most completions
CLAMP_LINE = QColor("#f0a040")  # where the clamped upper half ends
ABOUT = (
    "<b>Filters</b>: each hidden unit's weights to the pixels (orange: it likes ink, "
    "blue: paper; on colour images, the colours it likes, each filter stretched from "
    "black to its strongest). <b>Chain</b>: the pixels' probabilities (or, on colour, "
    "their means) as Gibbs sampling runs; the last frame is the Lab's sample of this "
    "seed and length. <b>Completion</b>: a held-out image's upper half stays fixed "
    "(above the orange line) while chains of this and the next seeds fill in the lower "
    "half."
)


class TileRow(QWidget):
    """Images in a grid, each under its caption's line(s) and with a tooltip."""

    def __init__(self, columns: int, side: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns, self.side = columns, side
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(3)
        self.tiles: list[QWidget] = []

    def set_tiles(self, tiles: list[tuple[QPixmap, str, str]]) -> None:
        while self.tiles:
            self.tiles.pop().deleteLater()
        for n, (pixmap, caption, tooltip) in enumerate(tiles):
            tile = _captioned(pixmap, caption, tooltip) if caption else QLabel()
            if not caption:
                tile.setPixmap(pixmap)
                tile.setToolTip(tooltip)
            self.grid.addWidget(tile, n // self.columns, n % self.columns)
            self.tiles.append(tile)


def _captioned(pixmap: QPixmap, caption: str, tooltip: str) -> QWidget:
    holder = QWidget()
    holder.setToolTip(tooltip)
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(1)
    image, text = QLabel(), QLabel(caption)
    image.setPixmap(pixmap)
    text.setStyleSheet("color: #a8a8a8;")
    text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    layout.addWidget(image, 0, Qt.AlignmentFlag.AlignHCenter)
    layout.addWidget(text)
    holder.caption = caption  # type: ignore[attr-defined]  # what tests read
    return holder


class GibbsPage(ExplorePage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.shown: dict[str, list[ResultImage]] = {}  # the last answer's images, by part
        self.seed = spin_box(limits.SEED, 0)
        self.steps = spin_box(limits.GIBBS_STEPS, 1000, 100)
        self.image_index = spin_box(limits.DATA_INDEX, 0)
        self.image_index.setToolTip("Which held-out image of the model's data set to complete")
        self.complete = QCheckBox("Complete held-out image")
        self.complete.setChecked(True)
        self.complete.toggled.connect(self._complete_toggled)
        for box in (self.seed, self.steps, self.image_index):
            box.setKeyboardTracking(False)  # typed numbers are sent when complete
            box.valueChanged.connect(self._ask)
        self.note = about_label()
        self.filters = TileRow(FILTER_COLUMNS, FILTER_TILE)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.filters)
        scroll.setFixedHeight(FILTER_ROWS_SHOWN * (FILTER_TILE + 3) + 4)
        self.chain = TileRow(FRAME_COLUMNS, FRAME_TILE)
        self.player = AnimationPlayer("The chain plays here", "gibbs-chain.gif")
        self.completions = TileRow(COMPLETION_COLUMNS, FRAME_TILE)

        controls = QFormLayout()
        controls.addRow("Seed", self.seed)
        controls.addRow("Gibbs steps", self.steps)
        controls.addRow(self.complete, self.image_index)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(_heading("Filters, strongest first"))
        layout.addWidget(scroll)
        layout.addWidget(_heading("Chain from random pixels, by step"))
        layout.addWidget(self.chain, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(_heading("Completion, upper half clamped: the image, then by seed"))
        layout.addWidget(self.completions, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.player)
        layout.addWidget(self.note)
        layout.addWidget(about_label(ABOUT))
        layout.addStretch(1)

    # ------------------------------------------------------------ asking

    def set_model(self, model: ModelRef | None) -> None:
        if model == self.model:
            return
        self.model, self.shown = model, {}
        self._ask()

    def request(self) -> GibbsRequest | None:
        if self.model is None:
            return None
        return GibbsRequest(
            model=self.model,
            seed=self.seed.value(),
            steps=self.steps.value(),
            image_index=self.image_index.value() if self.complete.isChecked() else None,
        )

    def _complete_toggled(self, on: bool) -> None:
        self.image_index.setEnabled(on)
        self._ask()

    def _ask(self, *_args: object) -> None:
        request = self.request()
        if request is not None:
            self.note.setText("Running Gibbs chains…")
            self.send(request)

    # ------------------------------------------------------------ answers

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if not isinstance(outcome, ImagesOutcome) or request != self.request():
            return  # an answer overtaken by a newer move is dropped
        parts: dict[str, list[ResultImage]] = {}
        for image in outcome.images:
            parts.setdefault(str(image.info.get("part")), []).append(image)
        self.shown = parts
        self.filters.set_tiles([_filter_tile(i) for i in parts.get("filter", [])])
        chain = parts.get("chain", [])
        self.chain.set_tiles(
            [(_pixmap(i, FRAME_TILE), str(i.info["step"]), _step(i)) for i in chain]
        )
        self.player.set_frames([i.rgb for i in chain], play=True)
        digit = [
            (_clamped(i), "digit", "The held-out image as the machine sees it (digits: binarised)")
            for i in parts.get("digit", [])
        ]
        filled = [(_clamped(i), str(i.seed), _filled(i)) for i in parts.get("completion", [])]
        self.completions.set_tiles(digit + filled)
        self.note.setText(
            f"{len(parts.get('filter', []))} hidden units; the chain's frames are at steps "
            f"{', '.join(str(i.info['step']) for i in chain)}."
        )

    def job_failed(self, request: Request, message: str) -> None:
        if request == self.request():
            self.note.setText(message)


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: bold;")
    return label


def _pixmap(image: ResultImage, size: int) -> QPixmap:
    pixmap = QPixmap.fromImage(rgb_to_qimage(image.rgb))
    # Nearest neighbour: an 8 x 8 picture stays eight by eight visible pixels.
    fast = Qt.TransformationMode.FastTransformation
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, fast)


def _clamped(image: ResultImage) -> QPixmap:
    """The picture with a line under its clamped rows (a digit: under its upper half)."""
    pixmap = _pixmap(image, FRAME_TILE)
    rows = image.info.get("clamped_rows", image.rgb.shape[0] // 2)
    y = round(rows * pixmap.height() / image.rgb.shape[0])
    painter = QPainter(pixmap)
    painter.setPen(QPen(CLAMP_LINE, 1))
    painter.drawLine(0, y, pixmap.width(), y)
    painter.end()
    return pixmap


def _filter_tile(image: ResultImage) -> tuple[QPixmap, str, str]:
    tooltip = f"Hidden unit {image.info['unit']}\n‖w‖ = {image.info['norm']:.2f}"
    return _pixmap(image, FILTER_TILE), "", tooltip


def _step(image: ResultImage) -> str:
    return f"Step {image.info['step']} of seed {image.info['seed']}'s chain: p(pixel on | h)"


def _filled(image: ResultImage) -> str:
    return f"Seed {image.seed}: the upper {image.info['clamped_rows']} rows clamped"
