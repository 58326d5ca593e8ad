"""Latent Lab: sample the classic generative models.

A Generate makes one sheet of samples (one image in the gallery, whose recipe lists
every sample's seed); clicking a sample on the canvas selects it, and Keep sample saves
that one on its own (drawn again from its seed: the same pixels).
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.api import limits
from engine.api.catalogue import bundled_models
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.parts import ModelRef
from engine.api.requests import Request, SampleRequest
from gui.mode_panel import ModePanel
from gui.seed_edit import SeedEdit
from gui.widgets import spin_box

LAB_FAMILIES = (Family.VAE, Family.GAN, Family.DDPM)

ABOUT = {
    Family.VAE: (
        "A <b>variational autoencoder</b> learns to squeeze each image into a few numbers "
        "(its <i>latent</i> code) and to rebuild it from them. Sampling draws random latent "
        "codes from a standard normal distribution and decodes them: every seed is a new "
        "image that was never in the training set."
    ),
}


class LabPanel(QWidget, ModePanel):
    title = "Latent Lab"
    generate_requested = Signal()
    keep_requested = Signal(object)  # a SampleRequest for one sample, saved on its own

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_box = QComboBox()
        for entry in bundled_models():
            if entry.ref.family in LAB_FAMILIES:
                self.model_box.addItem(entry.title, entry.ref)
        self.seed = SeedEdit()
        self.count = spin_box(limits.SAMPLE_COUNT, 16)
        self.count.setToolTip("How many samples; sample i uses seed + i.")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(36)
        self.generate_button.clicked.connect(self.generate_requested)
        self.keep_button = QPushButton("Keep sample")
        self.keep_button.setToolTip(
            "Click a sample on the canvas, then keep it on its own in the gallery"
        )
        self.keep_button.setEnabled(False)
        self.keep_button.clicked.connect(self._keep)
        self._selected: SampleRequest | None = None

        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setTextFormat(Qt.TextFormat.RichText)
        self.about.setStyleSheet("color: #a8a8a8;")
        self.model_box.currentIndexChanged.connect(self._show_about)
        self._show_about()

        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Seed", self.seed)
        form.addRow("Samples", self.count)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.about)
        layout.addStretch(1)
        layout.addWidget(self.keep_button)
        layout.addWidget(self.generate_button)

    @property
    def model(self) -> ModelRef:
        return self.model_box.currentData()

    def _show_about(self) -> None:
        model = self.model_box.currentData()
        self.about.setText(ABOUT.get(model.family, "") if model else "")

    def build_request(self) -> SampleRequest:
        return SampleRequest(
            model=self.model, seed=self.seed.resolve(), count=self.count.value(), grid=True
        )

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if isinstance(outcome, ImagesOutcome) and outcome.images:
            self.seed.set_last_seed(outcome.images[0].seed)
        self.select_sample(None)

    # ------------------------------------------------------------ keeping one sample

    def select_sample(self, sample: SampleRequest | None) -> None:
        """A sample of the shown sheet was clicked (None: nothing selected)."""
        self._selected = sample
        self.keep_button.setEnabled(sample is not None)
        self.keep_button.setText(f"Keep sample (seed {sample.seed})" if sample else "Keep sample")

    def _keep(self) -> None:
        if self._selected is not None:
            self.keep_requested.emit(self._selected)

    # ------------------------------------------------------------ parameters and state

    def apply_request(self, request: SampleRequest, seed: int | None) -> None:
        index = self.model_box.findData(request.model)
        if index >= 0:
            self.model_box.setCurrentIndex(index)
        self.seed.set_seed(request.seed if seed is None or request.grid else seed)
        self.count.setValue(request.count if request.grid else 1)

    def state(self) -> dict[str, Any]:
        model = self.model
        return {
            "model": model.id if model else "",
            "seed": self.seed.edit.text(),
            "count": self.count.value(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            for i in range(self.model_box.count()):
                if self.model_box.itemData(i).id == state.get("model"):
                    self.model_box.setCurrentIndex(i)
            self.seed.edit.setText(str(state.get("seed", "")))
            self.count.setValue(int(state.get("count", self.count.value())))
