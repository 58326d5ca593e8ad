"""Explore → Pixel by pixel (NADE; any autoregressive family whose spec lists "pixels"):
watch a sample drawn one pixel at a time, in reading order, as an animation; and take a
held-out image of the model's data set by number to see its lower half completed a few
ways from its upper half, and how surprising the model finds each of its pixels
(−log₂ p, drawn as a heat map by the engine). Every answer comes from the engine on the
interactive lane; nothing here reads a file or imports torch."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.outcomes import ImagesOutcome, Outcome, ResultImage
from engine.api.parts import ModelRef
from engine.api.requests import PixelsRequest, Request
from gui.explore.animation import AnimationPlayer
from gui.explore.page import ExplorePage, about_label
from gui.images import rgb_to_qimage
from gui.seed_edit import SeedEdit
from gui.widgets import spin_box

TILE = 56  # an image's side on screen (an 8 x 8 digit at 7 x: six fit the Lab's panel)
COMPLETIONS = 4
ABOUT_DRAW = (
    "An autoregressive model draws a picture one pixel at a time, in reading order: "
    "each pixel is drawn from the probabilities the model gives it (ink or not for a "
    "NADE, each ink level for a PixelCNN) given every pixel above and to its left. Grey "
    "pixels are not drawn yet."
)
ABOUT_IMAGE = (
    "The model keeps the <b>upper half</b> of a held-out image (in black and white, as "
    "it sees it) and draws the lower half, a different way for each seed. The "
    "<b>surprise</b> map shows −log<sub>2</sub> p of each pixel given those before it: "
    "bright pixels are the ones the model did not expect; their sum is the image's bits."
)


class PixelsPage(ExplorePage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.last_draw: PixelsRequest | None = None  # an older drawing's answer is dropped
        self.completion_seed = 0
        self.seed = SeedEdit()
        self.draw_button = QPushButton("Watch it draw")
        self.draw_button.clicked.connect(self.draw)
        self.player = AnimationPlayer(
            "Choose a model to watch it draw a sample", "drawn-pixel-by-pixel.gif"
        )
        self.draw_note = about_label()
        self.image_index = spin_box(limits.DATA_INDEX, 0)
        self.image_index.setToolTip("Which held-out image of the model's data set to complete")
        self.image_index.valueChanged.connect(self._ask_image)
        self.again = QPushButton("Other completions")
        self.again.setToolTip("Complete the lower half with the next seeds")
        self.again.clicked.connect(self._other_completions)
        self.image = _tile()
        self.completions = [_tile() for _ in range(COMPLETIONS)]
        self.surprise = _tile()
        self.surprise_note = about_label()
        self.image_note = about_label()
        self.image_note.hide()  # shown only to say why an image could not be looked at

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._draw_box())
        layout.addWidget(self._image_box())
        layout.addStretch(1)

    def _draw_box(self) -> QGroupBox:
        box = QGroupBox("Watch it draw")
        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("Seed"))
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.draw_button)
        layout = QVBoxLayout(box)
        layout.addLayout(seed_row)
        layout.addWidget(self.player)
        layout.addWidget(self.draw_note)
        layout.addWidget(about_label(ABOUT_DRAW))
        return box

    def _image_box(self) -> QGroupBox:
        box = QGroupBox("Complete a held-out image")
        chooser = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.image_index)
        row.addWidget(self.again)
        row.addStretch(1)
        chooser.addRow("Held-out image", row)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        columns = [self.image, *self.completions, self.surprise]
        # Short captions: six tiles must fit the Lab's narrowest panel (its width is the
        # widest page's), and the note below says what the numbered ones are.
        captions = ["Image", *[f"#{i + 1}" for i in range(COMPLETIONS)], "Surprise"]
        for column, (tile, caption) in enumerate(zip(columns, captions, strict=True)):
            grid.addWidget(tile, 0, column, Qt.AlignmentFlag.AlignHCenter)
            label = QLabel(caption)
            label.setStyleSheet("color: #a8a8a8;")
            grid.addWidget(label, 1, column, Qt.AlignmentFlag.AlignHCenter)
        grid.setColumnStretch(len(columns), 1)
        layout = QVBoxLayout(box)
        layout.addLayout(chooser)
        layout.addLayout(grid)
        layout.addWidget(self.surprise_note)
        layout.addWidget(self.image_note)
        layout.addWidget(about_label(ABOUT_IMAGE))
        return box

    # ------------------------------------------------------------ asking

    def set_model(self, model: ModelRef | None) -> None:
        if model == self.model:
            return
        self.model = model
        self.player.set_frames([])
        for tile in (self.image, *self.completions, self.surprise):
            tile.clear()
        self.surprise_note.clear()
        if model is not None:
            self.draw()
            self._ask_image()

    def draw(self) -> PixelsRequest | None:
        """Draw the seed's sample pixel by pixel (a new random one when the seed is empty)."""
        if self.model is None:
            return None
        self.last_draw = PixelsRequest(model=self.model, what="draw", seed=self.seed.resolve())
        self.draw_note.setText(f"Drawing seed {self.last_draw.seed}…")
        self.send(self.last_draw)
        return self.last_draw

    def image_request(self) -> PixelsRequest | None:
        if self.model is None:
            return None
        return PixelsRequest(
            model=self.model,
            what="image",
            image_index=self.image_index.value(),
            seed=self.completion_seed,
            completions=COMPLETIONS,
        )

    def _ask_image(self, *_args: object) -> None:
        request = self.image_request()
        if request is not None:
            self.send(request)

    def _other_completions(self) -> None:
        self.completion_seed = (self.completion_seed + COMPLETIONS) % (
            limits.SEED.high - COMPLETIONS
        )
        self._ask_image()

    # ------------------------------------------------------------ answers

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if not isinstance(request, PixelsRequest) or not isinstance(outcome, ImagesOutcome):
            return
        if request.what == "draw" and request == self.last_draw:
            self._show_drawing(request, outcome)
        elif request.what == "image" and request == self.image_request():
            self._show_image(outcome)  # an answer overtaken by a newer spin is dropped

    def job_failed(self, request: Request, message: str) -> None:
        # A question replaced by a newer one (a quick spin) ends "Cancelled.": not news.
        if request == self.last_draw:
            self.draw_note.setText(message)
        elif request == self.image_request():
            self.image_note.setText(message)
            self.image_note.show()

    def _show_drawing(self, request: PixelsRequest, outcome: ImagesOutcome) -> None:
        frames = [image.rgb for image in outcome.images]
        self.player.set_frames(frames, play=True)
        self.seed.set_last_seed(request.seed)
        if outcome.images:
            every = outcome.images[0].info.get("drawn", 1)
            self.draw_note.setText(
                f"Seed {request.seed}: {len(frames)} frames, "
                f"{every} pixel{'s' if every != 1 else ''} a frame; the last is the sample."
            )

    def _show_image(self, outcome: ImagesOutcome) -> None:
        by_role: dict[str, list[ResultImage]] = {}
        for image in outcome.images:
            by_role.setdefault(str(image.info.get("role")), []).append(image)
        for tile, image in zip([self.image], by_role.get("image", []), strict=False):
            tile.setPixmap(_pixmap(image))
        for tile, image in zip(self.completions, by_role.get("completion", []), strict=False):
            tile.setPixmap(_pixmap(image))
            tile.setToolTip(f"Seed {image.seed}")
        self.image_note.clear()
        self.image_note.hide()
        for image in by_role.get("surprise", []):
            self.surprise.setPixmap(_pixmap(image))
            self.surprise.setToolTip(_surprise_tooltip(image))
            total, pixels = image.info["bits"], image.rgb.shape[0] * image.rgb.shape[1]
            self.surprise_note.setText(
                f"−log<sub>2</sub> p(image) = <b>{total:.1f} bits</b> "
                f"({total / pixels:.3f} a pixel); the brightest pixel cost "
                f"{image.info['max_bits']:.1f} bits."
            )


def _tile() -> QLabel:
    label = QLabel()
    label.setFixedSize(TILE, TILE)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("background: #1b1b1b;")
    return label


def _pixmap(image: ResultImage) -> QPixmap:
    # Nearest neighbour: an 8 x 8 digit stays eight by eight visible pixels.
    return QPixmap.fromImage(rgb_to_qimage(image.rgb)).scaled(
        TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


def _surprise_tooltip(image: ResultImage) -> str:
    rows = image.info.get("pixel_bits") or []
    top = max((max(r) for r in rows), default=0.0)
    return f"Dark: a pixel the model expected; bright: up to {top:.1f} bits of surprise"
