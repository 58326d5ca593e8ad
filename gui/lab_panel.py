"""Latent Lab: sample the classic generative models."""

from __future__ import annotations

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
        layout.addWidget(self.generate_button)

    @property
    def model(self) -> ModelRef:
        return self.model_box.currentData()

    def _show_about(self) -> None:
        model = self.model_box.currentData()
        self.about.setText(ABOUT.get(model.family, "") if model else "")

    def build_request(self) -> SampleRequest:
        return SampleRequest(model=self.model, seed=self.seed.resolve(), count=self.count.value())

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if isinstance(outcome, ImagesOutcome) and outcome.images:
            self.seed.set_last_seed(outcome.images[0].seed)
