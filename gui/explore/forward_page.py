"""Explore → Forward process (DDPM): scrub t from 0 to T over q(x_t | x_0), the noise the
model learned to remove, on an image of its data set or a file. The ᾱ_t curve (how much
of the image is left at t) is plotted, with the current t marked; each frame comes from
the engine on the interactive lane, so scrubbing skips frames rather than queueing them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.imagefiles import IMAGE_FILTER
from engine.api.outcomes import FramesOutcome, Outcome, VectorsOutcome
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import DescribeModelRequest, ForwardNoiseRequest, Request
from gui.explore.page import ExplorePage, about_label
from gui.start_folders import Purpose, remember, start_folder
from gui.widgets import spin_box

ABOUT = (
    "Training teaches a DDPM to undo this: x<sub>t</sub> = √ᾱ<sub>t</sub>·x<sub>0</sub> + "
    "√(1 − ᾱ<sub>t</sub>)·ε. Drag t to add noise; the curve shows ᾱ<sub>t</sub>, the share "
    "of the image's signal left at step t."
)


class ForwardPage(ExplorePage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model: ModelRef | None = None
        self.alpha_bar: tuple[float, ...] = ()
        self.file = ""
        self.image_index = spin_box(limits.DATA_INDEX, 0)
        self.image_index.setToolTip("Which image of the model's data set to noise")
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Noise an image file instead of the data set's")
        self.open_button.clicked.connect(self._open)
        self.noise_seed = spin_box(limits.Limit("Noise seed", 0, 2**31 - 1), 0)
        self.t = QSlider(Qt.Orientation.Horizontal)
        self.t.setRange(0, 1000)
        self.t_label = QLabel("t = 0")
        self.plot_holder = QVBoxLayout()
        self._plot = None
        self._marker = None
        for signal in (
            self.t.valueChanged,
            self.image_index.valueChanged,
            self.noise_seed.valueChanged,
        ):
            signal.connect(self._scrub)

        source = QHBoxLayout()
        source.addWidget(self.image_index, 1)
        source.addWidget(self.open_button)
        form = QFormLayout()
        form.addRow("Image", source)
        form.addRow("Noise seed", self.noise_seed)
        form.addRow("t", self.t)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.t_label)
        layout.addLayout(self.plot_holder)
        layout.addWidget(about_label(ABOUT))
        layout.addStretch(1)

    def set_model(self, model: ModelRef | None) -> None:
        if model == self.model:
            return
        self.model, self.alpha_bar = model, ()
        if model is not None:
            self.send(DescribeModelRequest(model=model))

    def _open(self) -> None:
        folder = str(start_folder(Purpose.OPEN_IMAGE))
        path, _ = QFileDialog.getOpenFileName(self, "Image to noise", folder, IMAGE_FILTER)
        if path:
            remember(Purpose.OPEN_IMAGE, path)
            self.file = path
            self.open_button.setText(Path(path).name)
            self.image_index.setEnabled(False)
            self._scrub()

    def request(self) -> ForwardNoiseRequest | None:
        if self.model is None:
            return None
        return ForwardNoiseRequest(
            model=self.model,
            t=self.t.value(),
            image_index=self.image_index.value(),
            image=ImageRef(self.file, "") if self.file else None,
            noise_seed=self.noise_seed.value(),
        )

    def _scrub(self, *_args: object) -> None:
        request = self.request()
        if request is not None and self.alpha_bar:
            self.send(request)
        self._mark(self.t.value())

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if request.model != self.model:
            return
        if isinstance(outcome, VectorsOutcome) and outcome.labels == ("alpha_bar",):
            self.alpha_bar = outcome.vectors[0]
            self.t.setRange(0, len(self.alpha_bar))
            self._draw_curve()
            self._scrub()
        elif isinstance(outcome, FramesOutcome) and outcome.labels:
            self.t_label.setText(outcome.labels[0])

    def job_failed(self, request: Request, message: str) -> None:
        self.t_label.setText(message)

    def _draw_curve(self) -> None:
        import pyqtgraph as pg

        if self._plot is None:
            pg.setConfigOptions(antialias=True, background="#1e1e1e", foreground="#c0c0c0")
            self._plot = pg.PlotWidget()
            self._plot.setMinimumHeight(150)
            self._plot.setLabel("bottom", "t")
            self._plot.setLabel("left", "ᾱ_t")
            self._plot.showGrid(x=True, y=True, alpha=0.2)
            self._curve = self._plot.plot(pen=pg.mkPen("#5aa9e6", width=2))
            self._marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#f0a040", width=1))
            self._plot.addItem(self._marker)
            self.plot_holder.addWidget(self._plot)
        steps = list(range(len(self.alpha_bar) + 1))
        self._curve.setData(steps, [1.0, *self.alpha_bar])
        self._mark(self.t.value())

    def _mark(self, t: int) -> None:
        if self._marker is not None:
            self._marker.setValue(t)
