"""Create: Stable Diffusion text-to-image controls."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.catalogue import CatalogueEntry, find_sd_models
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Request, Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from gui.mode_panel import ModePanel
from gui.seed_edit import SeedEdit
from gui.widgets import double_spin_box, spin_box

MODEL_DEFAULT_SAMPLER = "Model default"


def _size_box(value: int) -> QSpinBox:
    box = spin_box(limits.SD_SIDE, value, step=limits.SIZE_MULTIPLE)
    box.setSuffix(" px")
    return box


class CreatePanel(QWidget, ModePanel):
    title = "Create"
    generate_requested = Signal()
    model_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(16)
        self.model_box.setPlaceholderText("No model: add a models folder in Settings")
        self.model_box.currentIndexChanged.connect(self._on_model_changed)
        self.browse_button = QToolButton(text="…")
        self.browse_button.setToolTip("Open a Stable Diffusion model folder (diffusers format)")
        self.browse_button.clicked.connect(self._browse)

        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Prompt: what you want to see")
        self.negative = QPlainTextEdit()
        self.negative.setPlaceholderText("Negative prompt: what you do not want")
        for edit, lines in ((self.prompt, 5), (self.negative, 3)):
            edit.setTabChangesFocus(True)
            edit.setFixedHeight(edit.fontMetrics().lineSpacing() * lines + 12)

        self.width_box, self.height_box = _size_box(512), _size_box(512)
        self.steps = spin_box(limits.SD_STEPS, 20)
        self.cfg = double_spin_box(limits.CFG_SCALE, 7.0, step=0.5, decimals=1)
        self.seed = SeedEdit()
        self.sampler = QComboBox()
        self.sampler.addItems([MODEL_DEFAULT_SAMPLER, *SAMPLER_NAMES])
        self.sampler.setToolTip("Model default: the scheduler the model ships with.")
        self.batch = spin_box(limits.SD_BATCH, 1)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(36)
        self.generate_button.clicked.connect(self.generate_requested)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_box, 1)
        model_row.addWidget(self.browse_button)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)

        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Size", size_row)
        form.addRow("Steps", self.steps)
        form.addRow("CFG scale", self.cfg)
        form.addRow("Sampler", self.sampler)
        form.addRow("Seed", self.seed)
        form.addRow("Batch", self.batch)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Prompt</b>"))
        layout.addWidget(self.prompt)
        layout.addWidget(QLabel("<b>Negative prompt</b>"))
        layout.addWidget(self.negative)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self.generate_button)

    # ------------------------------------------------------------ models

    def set_models(self, entries: list[CatalogueEntry], select: str = "") -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for entry in entries:
            self.model_box.addItem(entry.title, str(entry.path))
            self.model_box.setItemData(self.model_box.count() - 1, str(entry.path), 3)  # tooltip
        self.model_box.blockSignals(False)
        if select:
            self.select_model(select)
        elif entries:
            self.model_box.setCurrentIndex(0)

    def scan_models(self, folders: list[Path], select: str = "") -> None:
        self.set_models(find_sd_models(folders), select)

    def select_model(self, path: str) -> None:
        index = self.model_box.findData(path)
        if index < 0 and path:
            self.model_box.addItem(Path(path).name, path)
            index = self.model_box.count() - 1
        self.model_box.setCurrentIndex(index)

    @property
    def model_path(self) -> str:
        return str(self.model_box.currentData() or "")

    def _on_model_changed(self, _index: int) -> None:
        if self.model_path:
            self.model_chosen.emit(self.model_path)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Stable Diffusion model folder")
        if folder:
            self.select_model(folder)

    # ------------------------------------------------------------ request

    def build_request(self) -> Txt2ImgRequest:
        sampler = self.sampler.currentText()
        return Txt2ImgRequest(
            model=ModelRef(Family.SD, self.model_path),
            prompt=Prompt(self.prompt.toPlainText().strip(), self.negative.toPlainText().strip()),
            size=Size(self.width_box.value(), self.height_box.value()),
            sampling=Sampling(
                steps=self.steps.value(),
                cfg_scale=round(self.cfg.value(), 2),
                sampler=None if sampler == MODEL_DEFAULT_SAMPLER else sampler,
                seed=self.seed.resolve(),
            ),
            batch_size=self.batch.value(),
        )

    def job_finished(self, request: Request, outcome: Outcome) -> None:
        if isinstance(outcome, ImagesOutcome) and outcome.images:
            self.seed.set_last_seed(outcome.images[0].seed)
