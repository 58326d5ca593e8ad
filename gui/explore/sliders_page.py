"""Explore → Sliders: move through a VAE's or a GAN's latent space by hand.

The engine finds the axes once per model (VAE: its dimensions, most informative first;
GAN: GANSpace's principal directions) and says what each moves on the shapes models.
Every slider move sends one decode job on the interactive lane; a newer position
replaces one still waiting, so dragging never queues up stale frames. The frame comes
back to this page (its own job) and is painted on the canvas. Nothing is saved until
Keep, whose recipe holds the exact code.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.api.limits import SEED, random_seed
from engine.api.outcomes import AxesOutcome, ImagesOutcome, LatentAxis, Outcome, VectorsOutcome
from engine.api.parts import Latents, ModelRef
from engine.api.requests import (
    DecodeRequest,
    LatentAxesRequest,
    Request,
    SampleRequest,
    SeedLatentRequest,
)
from engine.api.sample_options import LatentSampleOptions
from gui.explore.page import ExplorePage, about_label
from gui.viewmodels.lab import sample_request

SHOWN_FIRST = 8  # sliders visible before "More"
RANGE = 3.0  # each slider spans ±3 spreads of the data along its axis
TICKS = 300  # slider steps from 0 to RANGE: 0.01 spread each
RANDOM_SPREAD = 1.0  # Randomise with the seed locked: positions drawn from N(0, 1)


class SlidersPage(ExplorePage):
    reopens = "explore:sliders"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.axes: tuple[LatentAxis, ...] = ()
        self.base: np.ndarray | None = None  # the seed's own code
        self.seed = 0
        self._kept_code: np.ndarray | None = None  # a kept picture's code, to start from
        self._axes_for: ModelRef | None = None
        self._rows: list[tuple[QLabel, QSlider, QLabel]] = []
        self._rng = np.random.default_rng()
        self.frame: np.ndarray | None = None  # the last picture decoded for these sliders

        self.status = about_label()
        self.seed_edit = QLineEdit()
        self.seed_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,10}")))
        self.seed_edit.setToolTip("The seed whose code the sliders start from; Enter to use it")
        self.seed_edit.editingFinished.connect(self._seed_typed)
        self.randomise_button = QPushButton("Randomise")
        self.randomise_button.setToolTip(
            "A new starting code (a new seed); with the seed locked, new random slider "
            "positions around the same code"
        )
        self.randomise_button.clicked.connect(self.randomise)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("All sliders to 0: the seed's own sample")
        self.reset_button.clicked.connect(self.reset)
        self.lock_seed = QCheckBox("Lock seed")
        self.keep_button = QPushButton("Keep")
        self.keep_button.setToolTip("Save this picture to the gallery; its recipe holds the code")
        self.keep_button.clicked.connect(self._keep)
        self.more_button = QPushButton("More")
        self.more_button.setCheckable(True)
        self.more_button.toggled.connect(self._show_more)

        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addLayout(self.grid)
        holder_layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        holder_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(holder)
        scroll.viewport().setAutoFillBackground(False)  # the panel's own background
        holder.setAutoFillBackground(False)

        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("Seed"))
        seed_row.addWidget(self.seed_edit, 1)
        buttons = QHBoxLayout()
        for widget in (self.randomise_button, self.reset_button, self.lock_seed):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addLayout(seed_row)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.keep_button)
        self._set_enabled(False)

    # ------------------------------------------------------------ what it asks for

    def set_model(self, model: ModelRef | None) -> None:
        if model == self._axes_for:  # back on this page: its picture back on the canvas
            self._decode()
            return
        self.model, self._axes_for = model, model
        self.axes, self.base = (), None
        self._build_rows()
        self._set_enabled(False)
        if model is None:
            return
        self.status.setText("Finding the directions along which this model's pictures change…")
        self.send(LatentAxesRequest(model=model))
        self._start_from(self.seed or random_seed())

    def _start_from(self, seed: int) -> None:
        self.seed, self._kept_code = seed, None
        self.seed_edit.setText(str(seed))
        if self.model is not None:
            self.send(SeedLatentRequest(model=self.model, seed=seed))

    def _seed_typed(self) -> None:
        text = self.seed_edit.text()
        if (
            text
            and int(text) <= SEED.high
            and (int(text) != self.seed or self._kept_code is not None)
        ):
            self._set_positions([0.0] * len(self._rows))
            self.base = None
            self._set_enabled(False)
            self._start_from(int(text))

    def code(self) -> np.ndarray | None:
        """The latent code the sliders point at: the seed's code moved along each axis."""
        if self.base is None:
            return None
        code = self.base.astype(np.float64).copy()
        for axis, (_label, slider, _value) in zip(self.axes, self._rows, strict=True):
            offset = slider.value() / TICKS * RANGE * axis.spread
            if offset:
                code += offset * np.asarray(axis.direction, np.float64)
        return code.astype(np.float32)

    def _decode(self) -> None:
        code = self.code()
        if code is None or self.model is None or not self.isVisible():
            return  # another tool's result is on the canvas: leave it there
        values = tuple(float(v) for v in code)
        self.send(DecodeRequest(model=self.model, latents=Latents((values,))))

    # ------------------------------------------------------------ answers

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if request.model != self.model:
            return  # an answer for a model no longer chosen
        if isinstance(request, DecodeRequest) and isinstance(outcome, ImagesOutcome):
            self.frame = outcome.images[0].rgb if outcome.images else None
        elif isinstance(outcome, AxesOutcome):
            self.axes = outcome.axes
            self.status.setText(outcome.how)
            self._build_rows()
        elif isinstance(request, SeedLatentRequest) and request.seed == self.seed:
            assert isinstance(outcome, VectorsOutcome)
            code = self._kept_code if self._kept_code is not None else outcome.vectors[0]
            self.base = np.asarray(code, np.float32)
        ready = self.axes and self.base is not None
        if ready and isinstance(request, LatentAxesRequest | SeedLatentRequest):
            self._set_enabled(True)
            self._decode()

    def job_failed(self, request: Request, message: str) -> None:
        if isinstance(request, LatentAxesRequest | SeedLatentRequest):
            self.status.setText(message)

    # ------------------------------------------------------------ the sliders

    def _build_rows(self) -> None:
        for label, slider, value in self._rows:
            for widget in (label, slider, value):
                self.grid.removeWidget(widget)
                widget.hide()  # at once: deleteLater waits for the event loop
                widget.deleteLater()
        self._rows = []
        for i, axis in enumerate(self.axes):
            label = QLabel(axis_title(axis))
            label.setToolTip(axis_tooltip(axis))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-TICKS, TICKS)
            slider.setToolTip(axis_tooltip(axis))
            value = QLabel("0.00")
            value.setMinimumWidth(40)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            slider.valueChanged.connect(lambda v, shown=value: self._moved(v, shown))
            self.grid.addWidget(label, i, 0)
            self.grid.addWidget(slider, i, 1)
            self.grid.addWidget(value, i, 2)
            self._rows.append((label, slider, value))
        hidden = max(0, len(self.axes) - SHOWN_FIRST)
        self.more_button.setVisible(hidden > 0)
        self.more_button.setChecked(False)
        self.more_button.setText(f"More ({hidden})")
        self._show_more(False)

    def _moved(self, value: int, shown: QLabel) -> None:
        shown.setText(f"{value / TICKS * RANGE:+.2f}")
        self._decode()

    def _show_more(self, on: bool) -> None:
        for i, row in enumerate(self._rows):
            for widget in row:
                widget.setVisible(on or i < SHOWN_FIRST)
        hidden = max(0, len(self._rows) - SHOWN_FIRST)
        self.more_button.setText("Fewer" if on else f"More ({hidden})")

    def _set_positions(self, positions: list[float]) -> None:
        """Move every slider at once, then decode once (not once per slider)."""
        for (_label, slider, value), position in zip(self._rows, positions, strict=True):
            slider.blockSignals(True)
            slider.setValue(round(position / RANGE * TICKS))
            slider.blockSignals(False)
            value.setText(f"{slider.value() / TICKS * RANGE:+.2f}")
        self._decode()

    def randomise(self) -> None:
        if self.lock_seed.isChecked():
            draws = self._rng.normal(0, RANDOM_SPREAD, len(self._rows)).clip(-RANGE, RANGE)
            self._set_positions([float(v) for v in draws])
        else:
            self._restart(random_seed())

    def reset(self) -> None:
        self._set_positions([0.0] * len(self._rows))

    def _keep(self) -> None:
        code = self.code()
        if code is not None and self.model is not None:
            latent = tuple(float(v) for v in code)
            options = LatentSampleOptions(latent=latent)
            self.send(sample_request(self.model, self.seed, options=options))

    def apply_request(self, request: Request) -> None:
        """A kept picture's recipe: start from its exact code, sliders at 0."""
        assert isinstance(request, SampleRequest) and request.latent is not None
        self.seed = request.seed
        self.seed_edit.setText(str(request.seed))
        self.seed_edit.setToolTip(f"A kept code, first drawn from seed {request.seed}")
        self._kept_code = np.asarray(request.latent, np.float32)
        self.base = self._kept_code
        if self.axes:
            self.reset()
            self._set_enabled(True)

    def _set_enabled(self, on: bool) -> None:
        for widget in (self.randomise_button, self.reset_button, self.keep_button):
            widget.setEnabled(on)
        for _label, slider, _value in self._rows:
            slider.setEnabled(on)


def axis_title(axis: LatentAxis) -> str:
    """The slider's name: what it moves (shapes models), else the axis's own label."""
    # The name carries the factors that stand out (at least half the strongest effect);
    # the tooltip lists every one measured.
    strongest = [m for m in axis.moves[:2] if m[1] >= 0.5 * axis.moves[0][1]]
    if strongest:
        name = axis.label.split(" · ")[0]
        return f"{name}: {', '.join(factor for factor, _effect in strongest)}"
    return axis.label


def axis_tooltip(axis: LatentAxis) -> str:
    lines = [axis.label]
    if axis.moves:
        moved = ", ".join(f"{factor} {effect:.1f}×" for factor, effect in axis.moves)
        lines.append(
            f"Moves {moved} (× how much two random shapes differ in it, measured by the "
            "shapes reader)"
        )
    return "\n".join(lines)
