"""Latent Lab: sample the classic generative models (the bundled VAE for now)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.jobs import SampleRequest
from gui.seed_edit import SeedEdit

BUNDLED_MODELS = {
    "vae-digits": "VAE · handwritten digits (bundled)",
}

ABOUT_VAE = (
    "A <b>variational autoencoder</b> learns to squeeze each image into a few numbers "
    "(its <i>latent</i> code) and to rebuild it from them. Sampling draws random latent "
    "codes from a standard normal distribution and decodes them: every seed is a new "
    "digit that was never in the training set."
)


class LabPanel(QWidget):
    generate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_box = QComboBox()
        for key, label in BUNDLED_MODELS.items():
            self.model_box.addItem(label, key)
        self.seed = SeedEdit()
        self.count = QSpinBox(minimum=1, maximum=256, value=16)
        self.count.setToolTip("How many samples; sample i uses seed + i.")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(36)
        self.generate_button.clicked.connect(self.generate_requested)

        about = QLabel(ABOUT_VAE)
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.RichText)
        about.setStyleSheet("color: #a8a8a8;")

        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Seed", self.seed)
        form.addRow("Samples", self.count)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(about)
        layout.addStretch(1)
        layout.addWidget(self.generate_button)

    def build_request(self) -> SampleRequest:
        return SampleRequest(
            model=str(self.model_box.currentData()),
            seed=self.seed.resolve(),
            count=self.count.value(),
        )
