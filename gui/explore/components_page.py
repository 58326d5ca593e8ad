"""Explore → Components (GMM): the mixture's components as a grid of their mean images,
heaviest first, each captioned with its weight; choose a held-out image to see which
components explain it (p(component | image), the largest highlighted); click a component
to draw a few images from it alone. Every answer comes from the engine on the
interactive lane: a spin of the image number sends one small job, and nothing here reads
a file."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import families, limits
from engine.api.outcomes import ImagesOutcome, Outcome, ResultImage
from engine.api.parts import ModelRef
from engine.api.requests import ComponentsRequest, Request, SampleRequest
from gui.explore.page import ExplorePage, about_label
from gui.images import rgb_to_qimage
from gui.widgets import spin_box

COLUMNS = 10
TILE = 48  # a mean's side on screen, in pixels (an 8 x 8 digit at 6 x)
SAMPLES = 8  # draws per click on a component
SAMPLES_SHOWN = 96  # the sheet of draws' height on screen
HIGHLIGHTED = 3  # at most this many components are marked as explaining the image
HIGHLIGHT_FLOOR = 0.01  # ...each with at least this responsibility
PLAIN = "QToolButton { border: 2px solid transparent; }"  # the palette's text colour
MARKED = "QToolButton { border: 2px solid #f0a040; color: #f0c080; font-weight: bold; }"
ABOUT = (
    "Each tile is a component's <b>mean image</b>, heaviest first, under its "
    "<b>weight</b>: how often sampling picks it. Tick <i>Explain</i> to see which "
    "components account for a held-out image, p(component | image); the largest are "
    "outlined. Click a component to draw images from it alone."
)


class ComponentsPage(ExplorePage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.tiles: list[QToolButton] = []
        self.components: list[ResultImage] = []  # the last answer's means, as shown
        self.next_seed = 0
        self.explain = QCheckBox("Explain held-out image")
        self.image_index = spin_box(limits.DATA_INDEX, 0)
        self.image_index.setToolTip("Which held-out image of the model's data set to explain")
        self.image_index.setEnabled(False)
        self.image = QLabel()
        self.image.setFixedSize(TILE, TILE)
        self.image.setStyleSheet("background: #1b1b1b;")
        self.note = about_label()
        self.explain.toggled.connect(self._explain_toggled)
        self.image_index.valueChanged.connect(self._ask)
        self.grid = QGridLayout()
        self.grid.setSpacing(2)
        holder = QWidget()
        holder.setLayout(self.grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        self.samples_note = about_label("Click a component to draw from it alone.")
        self.samples = QLabel()
        self.samples.setFixedHeight(SAMPLES_SHOWN)

        chooser = QHBoxLayout()
        chooser.addWidget(self.explain)
        chooser.addWidget(self.image_index)
        chooser.addWidget(self.image)
        chooser.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(chooser)
        layout.addWidget(self.note)
        layout.addWidget(scroll, 1)
        drawn = QHBoxLayout()
        drawn.addWidget(self.samples_note, 1)
        drawn.addWidget(self.samples)
        layout.addLayout(drawn)
        layout.addWidget(about_label(ABOUT))

    # ------------------------------------------------------------ asking

    def set_model(self, model: ModelRef | None) -> None:
        if model == self.model:
            return
        self.model, self.components = model, []
        self._show_tiles([])
        self._ask()

    def request(self) -> ComponentsRequest | None:
        if self.model is None:
            return None
        index = self.image_index.value() if self.explain.isChecked() else None
        return ComponentsRequest(model=self.model, image_index=index)

    def _ask(self, *_args: object) -> None:
        request = self.request()
        if request is not None:
            self.send(request)

    def _explain_toggled(self, on: bool) -> None:
        self.image_index.setEnabled(on)
        if not on:
            self.image.clear()
        self._ask()

    def sample_component(self, component: int) -> SampleRequest | None:
        """Draw SAMPLES images from one component (one sheet, kept in the gallery as
        any Lab sample); each click draws new ones."""
        if self.model is None:
            return None
        options = families.sample_options_of(self.model.family)(component=component)  # type: ignore[call-arg]
        request = SampleRequest(
            model=self.model,
            seed=self.next_seed,
            count=SAMPLES,
            grid=True,
            options=options,
        )
        self.next_seed = (self.next_seed + SAMPLES) % (limits.SEED.high - SAMPLES)
        self.samples_note.setText(f"Drawing {SAMPLES} images from component {component}…")
        self.send(request)
        return request

    # ------------------------------------------------------------ answers

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if request.model != self.model or not isinstance(outcome, ImagesOutcome):
            return
        if isinstance(request, SampleRequest):
            self._show_samples(request, outcome)
        elif request == self.request():  # an answer overtaken by a newer move is dropped
            self._show_components(outcome)

    def job_failed(self, request: Request, message: str) -> None:
        if isinstance(request, SampleRequest):
            self.samples_note.setText(message)
        else:
            self.note.setText(message)

    def _show_components(self, outcome: ImagesOutcome) -> None:
        means = [i for i in outcome.images if "component" in i.info]
        chosen = [i for i in outcome.images if "image_index" in i.info]
        if chosen:
            self.image.setPixmap(_pixmap(chosen[0], TILE))
        self.components = means
        self._show_tiles(means)
        self.note.setText(_explained(means) if chosen else f"{len(means)} components.")

    def _show_tiles(self, means: list[ResultImage]) -> None:
        while len(self.tiles) > len(means):
            self.tiles.pop().deleteLater()
        while len(self.tiles) < len(means):
            self.tiles.append(self._tile(len(self.tiles)))
        marked = {id(m) for m in _top(means)}
        for tile, mean in zip(self.tiles, means, strict=True):
            tile.setIcon(QIcon(_pixmap(mean, TILE)))
            tile.setText(_caption(mean))
            tile.setToolTip(_tooltip(mean))
            tile.setStyleSheet(MARKED if id(mean) in marked else PLAIN)

    def _tile(self, position: int) -> QToolButton:
        tile = QToolButton()
        tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        tile.setIconSize(QSize(TILE, TILE))
        tile.setAutoRaise(True)
        # Room for the mean and two caption lines: the scroll area never squeezes a tile.
        lines = tile.fontMetrics().lineSpacing() * 2
        tile.setFixedSize(TILE + 12, TILE + lines + 12)
        tile.clicked.connect(lambda: self._clicked(position))
        self.grid.addWidget(tile, position // COLUMNS, position % COLUMNS)
        return tile

    def _clicked(self, position: int) -> None:
        if position < len(self.components):
            self.sample_component(int(self.components[position].info["component"]))

    def _show_samples(self, request: SampleRequest, outcome: ImagesOutcome) -> None:
        if outcome.images:
            self.samples.setPixmap(_pixmap(outcome.images[0], SAMPLES_SHOWN, height_only=True))
            component = getattr(request.options, "component", -1)
            self.samples_note.setText(
                f"{request.count} draws from component {component} (seeds {request.seed}–"
                f"{request.seed + request.count - 1}); click again for new ones."
            )


def _pixmap(image: ResultImage, size: int, height_only: bool = False) -> QPixmap:
    pixmap = QPixmap.fromImage(rgb_to_qimage(image.rgb))
    # Nearest neighbour: an 8 x 8 mean stays eight by eight visible pixels.
    fast = Qt.TransformationMode.FastTransformation
    if height_only:
        return pixmap.scaledToHeight(size, fast)
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, fast)


def _caption(mean: ResultImage) -> str:
    text = f"{mean.info['weight']:.1%}"
    share = mean.info.get("responsibility")
    if share is None:
        return text
    # With an image every caption has two lines, so the tiles' rows stay aligned.
    return f"{text}\np {share:.2f}" if share >= HIGHLIGHT_FLOOR else f"{text}\n"


def _tooltip(mean: ResultImage) -> str:
    lines = [f"Component {mean.info['component']}", f"weight {mean.info['weight']:.2%}"]
    if "responsibility" in mean.info:
        lines.append(f"p(component | image) = {mean.info['responsibility']:.3g}")
    return "\n".join([*lines, "Click to draw from it"])


def _top(means: list[ResultImage]) -> list[ResultImage]:
    """The components that explain the image most (none when no image is given)."""
    scored = [m for m in means if m.info.get("responsibility", 0.0) >= HIGHLIGHT_FLOOR]
    return sorted(scored, key=lambda m: -m.info["responsibility"])[:HIGHLIGHTED]


def _explained(means: list[ResultImage]) -> str:
    top = _top(means)
    parts = [f"{m.info['component']} ({m.info['responsibility']:.0%})" for m in top]
    return f"Explained by component{'s' if len(parts) > 1 else ''} {', '.join(parts)}."
