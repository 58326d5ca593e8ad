"""Latent Lab: sample the classic generative models, train them, and measure them.

Sample: a Generate makes one sheet of samples (one image in the gallery, whose recipe
lists every sample's seed); clicking a sample on the canvas selects it, and Keep sample
saves that one on its own (drawn again from its seed: the same pixels). Diffusion models
add steps, the class to draw and guidance. Trained models sit beside the bundled ones
and can be renamed, deleted and scored by the quality meter.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.catalogue import CatalogueEntry, lab_models
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, ModelOutcome, Outcome, VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import Request, SampleRequest, ScoreRequest
from engine.handle import JobHandle
from engine.quality.record import load_quality
from gui.explore import ExploreTab
from gui.explore.tab import PLACES as EXPLORE_PLACES
from gui.mode_panel import ModePanel, Send
from gui.model_rename import rename_model
from gui.quality_line import quality_text, quality_warning
from gui.seed_edit import SeedEdit
from gui.train_panel import TrainPanel
from gui.widgets import double_spin_box, spin_box

ABOUT = {
    Family.VAE: (
        "A <b>variational autoencoder</b> squeezes each image into a few numbers (its "
        "<i>latent</i> code) and rebuilds it from them. Sampling decodes random latent codes, "
        "drawn from a mixture fitted to where the training images landed (a plain standard "
        "normal leaves holes between them): every seed is a new image."
    ),
    Family.GAN: (
        "A <b>generative adversarial network</b>: a generator turns random noise into images, "
        "a discriminator tries to tell them from real ones, and each learns from the other. "
        "Every seed is a noise vector, hence a new image."
    ),
    Family.DDPM: (
        "A <b>denoising diffusion</b> model learned to remove a little noise at a time. "
        "Sampling starts from pure noise (from the seed) and denoises it step by step; a "
        "class-conditional model draws the class you pick."
    ),
}


# A model's files: weights, record, training state (for resume), quality figures.
MODEL_FILE_SUFFIXES = (".safetensors", ".json", ".train.safetensors", ".quality.json")


class LabPanel(QWidget, ModePanel):
    title = "Latent Lab"
    reopens = ("lab", *EXPLORE_PLACES)
    generate_requested = Signal()
    training_control = Signal(str)  # "pause" or "stop"
    models_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._sample_tab(), "Sample")
        self.train = TrainPanel()
        self.train.start_requested.connect(self._start_training)
        self.train.pause_requested.connect(lambda: self.training_control.emit("pause"))
        self.train.stop_requested.connect(lambda: self.training_control.emit("stop"))
        self.tabs.addTab(self.train, "Train")
        self.explore = ExploreTab()
        self.explore.run_requested.connect(self.generate_requested)
        self.tabs.addTab(self.explore, "Explore")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.refresh_models()

    def _sample_tab(self) -> QWidget:
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(14)
        self.model_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_button = QToolButton(text="…")
        self.model_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.model_button)
        self.rename_action = menu.addAction("Rename…", self._rename)
        self.delete_action = menu.addAction("Delete…", self._delete)
        self.continue_action = menu.addAction("Continue training…", self._continue_training)
        menu.addSeparator()
        menu.addAction("Measure quality", self._score)
        self.model_button.setMenu(menu)
        self.seed = SeedEdit()
        self.count = spin_box(limits.SAMPLE_COUNT, 16)
        self.count.setToolTip("How many samples; sample i uses seed + i.")
        self.steps = spin_box(limits.DIFFUSION_STEPS, 50)
        self.steps.setToolTip("Denoising steps (DDIM)")
        self.label = QComboBox()
        self.guidance = double_spin_box(limits.GUIDANCE, 1.0, step=0.25, decimals=2)
        self.guidance.setToolTip(
            "Classifier-free guidance: 1 draws the class as learned; more exaggerates it"
        )
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
        self.quality = QLabel()
        self.quality.setWordWrap(True)
        self.quality.setStyleSheet("color: #a8a8a8;")
        # What the figures cannot say by themselves: most samples are noise, copies or
        # one picture repeated. Shown above the figures, in the warning colour.
        self.quality_warning = QLabel()
        self.quality_warning.setWordWrap(True)
        self.quality_warning.setStyleSheet("color: #f0a040; font-weight: bold;")
        self.quality_warning.setVisible(False)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setTextFormat(Qt.TextFormat.RichText)
        self.about.setStyleSheet("color: #a8a8a8;")
        self.model_box.currentIndexChanged.connect(self._model_changed)

        model_row = QWidget()
        row = QVBoxLayout(model_row)
        row.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        picker = QWidget()
        picker_row = _hbox(picker)
        picker_row.addWidget(self.model_box, 1)
        picker_row.addWidget(self.model_button)
        form.addRow("Model", picker)
        form.addRow("Seed", self.seed)
        form.addRow("Samples", self.count)
        form.addRow("Steps", self.steps)
        form.addRow("Class", self.label)
        form.addRow("Guidance", self.guidance)
        self._diffusion_rows = (self.steps, self.label, self.guidance)
        self._form = form
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(form)
        layout.addWidget(self.about)
        layout.addWidget(self.quality_warning)
        layout.addWidget(self.quality)
        layout.addStretch(1)
        layout.addWidget(self.keep_button)
        layout.addWidget(self.generate_button)
        return tab

    # ------------------------------------------------------------ models

    def refresh_models(self, select: str = "") -> None:
        current = select or (self.model.id if self.model else "")
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for entry in lab_models():
            self.model_box.addItem(entry.title, entry.ref)
            self.model_box.setItemData(
                self.model_box.count() - 1, str(entry.path), Qt.ItemDataRole.ToolTipRole
            )
        self.model_box.blockSignals(False)
        index = next(
            (i for i in range(self.model_box.count()) if self.model_box.itemData(i).id == current),
            0,
        )
        self.model_box.setCurrentIndex(index)
        self._model_changed()

    @property
    def model(self) -> ModelRef | None:
        return self.model_box.currentData()

    def _entry(self) -> CatalogueEntry | None:
        model = self.model
        return next((e for e in lab_models() if model and e.ref == model), None)

    def _model_changed(self, *_args: object) -> None:
        model = self.model
        self.about.setText(ABOUT.get(model.family, "") if model else "")
        entry = self._entry()
        measured = load_quality(entry.path) if entry else {}
        self._show_quality(measured)
        diffusion = model is not None and model.family is Family.DDPM
        self.explore.set_model(model)
        for widget in self._diffusion_rows:
            widget.setVisible(diffusion)
            self._form.labelForField(widget).setVisible(diffusion)
        self._fill_classes()
        trained = entry is not None and not entry.bundled
        self.rename_action.setEnabled(trained)
        self.delete_action.setEnabled(trained)
        self.continue_action.setEnabled(
            trained and entry.path.with_suffix(".train.safetensors").is_file()
        )

    def _fill_classes(self) -> None:
        self.label.clear()
        self.label.addItem("any (from each seed)", None)
        entry = self._entry()
        record = _record_of(entry.path) if entry else {}
        self.guidance.setValue(float(record.get("meta", {}).get("default_guidance", 1.0)))
        classes = _classes_of(record)
        for i, name in enumerate(classes):
            self.label.addItem(name, i)
        self.label.setEnabled(bool(classes))

    def _rename(self) -> None:
        entry = self._entry()
        if entry is None or entry.bundled:
            return
        name, ok = QInputDialog.getText(self, "Rename model", "New name:", text=entry.path.stem)
        if not ok or not name.strip():
            return
        if problem := rename_model(entry.path, name.strip(), MODEL_FILE_SUFFIXES):
            QMessageBox.warning(self, "Not renamed", problem)
            return
        target = entry.path.with_name(f"{name.strip()}.safetensors")
        self.refresh_models(select=str(target))
        self.models_changed.emit()

    def _delete(self) -> None:
        entry = self._entry()
        if entry is None or entry.bundled:
            return
        answer = QMessageBox.question(
            self, "Delete model", f"Move {entry.path.stem} (and its training state) to the trash?"
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        from send2trash import send2trash

        for suffix in MODEL_FILE_SUFFIXES:
            path = entry.path.with_suffix(suffix)
            if path.exists():
                send2trash(path)
        self.refresh_models()
        self.models_changed.emit()

    def _continue_training(self) -> None:
        entry = self._entry()
        if entry is None or entry.bundled:
            return
        self.train.continue_from(entry.path, _record_of(entry.path))
        self.tabs.setCurrentWidget(self.train)

    def _score(self) -> None:
        if self.model is not None:
            self._show_quality({})
            self.quality.setText("Measuring…")
            if handle := self.send(ScoreRequest(model=self.model)):
                handle.finished.connect(self._scored)
                handle.failed.connect(lambda message, _kind: self._not_scored(message))
                handle.cancelled.connect(lambda: self._not_scored("Cancelled."))

    # ------------------------------------------------------------ requests

    def build_request(self) -> Request:
        if self.tabs.currentWidget() is self.explore:
            return self.explore.build_request(self.model)
        if self.model is None:
            from engine.api.errors import BadInput

            raise BadInput("There is no model to sample: train one, or reinstall the bundled ones.")
        diffusion = self.model.family is Family.DDPM
        return SampleRequest(
            model=self.model,
            seed=self.seed.resolve(),
            count=self.count.value(),
            grid=True,
            steps=self.steps.value() if diffusion else 50,
            label=self.label.currentData() if diffusion else None,
            guidance=round(self.guidance.value(), 2) if diffusion else None,
        )

    # ------------------------------------------------------------ its jobs

    def set_submit(self, send: Send) -> None:
        self.send = send
        self.explore.set_submit(send)

    def listen(self, request: Request, handle: JobHandle) -> None:
        """A Generate: a sheet of the Sample tab, or a run of the shown Explore tool."""
        if self.tabs.currentWidget() is self.explore:
            self.explore.listen(request, handle)
        else:
            handle.finished.connect(self._sheet_drawn)

    def _sheet_drawn(self, outcome: Outcome) -> None:
        if isinstance(outcome, ImagesOutcome) and outcome.images:
            self.seed.set_last_seed(outcome.images[0].seed)
            self.select_sample(None)

    def _start_training(self) -> None:
        handle = self.send(self.train.build_request())
        if handle is None:
            return
        train = self.train
        train.started()
        handle.metrics.connect(train.metrics)
        handle.progress.connect(train.progress_event)
        handle.frames.connect(lambda frames: train.preview.show_samples(frames.frames))
        handle.paused.connect(lambda: train.set_running(True, paused=True))
        handle.resumed.connect(lambda: train.set_running(True, paused=False))
        handle.finished.connect(self._trained)
        handle.failed.connect(lambda message, _kind: train.ended(message))
        handle.cancelled.connect(lambda: train.ended("Cancelled."))

    def _trained(self, outcome: ModelOutcome) -> None:
        how = "Stopped at" if outcome.stopped_early else "Finished:"
        self.train.ended(
            f"{how} step {outcome.step:,}. The model is in the Sample tab's picker "
            f"({Path(outcome.path).name})."
        )
        self.refresh_models(select=outcome.path)
        self.models_changed.emit()
        self.tabs.setCurrentIndex(0)
        self._score()  # the meter's figures follow the training they judge

    def _scored(self, outcome: VectorsOutcome) -> None:
        self._show_quality(dict(zip(outcome.labels, (v[0] for v in outcome.vectors), strict=True)))

    def _not_scored(self, message: str) -> None:
        self._show_quality({})
        self.quality.setText(message)

    def _show_quality(self, values: dict[str, float]) -> None:
        self.quality.setText(quality_text(values) if values else "")
        warning = quality_warning(values)
        self.quality_warning.setText(warning)
        self.quality_warning.setVisible(bool(warning))

    # ------------------------------------------------------------ keeping one sample

    def select_sample(self, sample: SampleRequest | None) -> None:
        """A sample of the shown sheet was clicked (None: nothing selected)."""
        self._selected = sample
        self.explore.sample_selected(sample)
        self.keep_button.setEnabled(sample is not None)
        self.keep_button.setText(f"Keep sample (seed {sample.seed})" if sample else "Keep sample")

    def _keep(self) -> None:
        if self._selected is not None:
            self.send(self._selected)

    # ------------------------------------------------------------ parameters and state

    def apply_request(self, request: SampleRequest, seed: int | None) -> None:
        self.refresh_models(select=request.model.id)
        self.seed.set_seed(request.seed if seed is None or request.grid else seed)
        self.count.setValue(request.count if request.grid else 1)
        self.steps.setValue(request.steps)
        if request.guidance is not None:
            self.guidance.setValue(request.guidance)
        index = self.label.findData(request.label)
        if index >= 0:
            self.label.setCurrentIndex(index)

    def reopen(self, request: Request, seed: int | None) -> None:
        """Use these parameters of a sheet, or of an Explore result (a strip, a filmstrip,
        a kept code): the Explore page its recipe names."""
        if request.reopens_in == "lab":
            self.apply_request(request, seed)
            return
        self.refresh_models(select=request.model.id)
        self.tabs.setCurrentWidget(self.explore)
        self.explore.reopen(request)

    def state(self) -> dict[str, Any]:
        model = self.model
        return {
            "model": model.id if model else "",
            "seed": self.seed.edit.text(),
            "count": self.count.value(),
            "steps": self.steps.value(),
            "label": self.label.currentData(),  # a diffusion model's class (None: any)
            "guidance": round(self.guidance.value(), 2),
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.refresh_models(select=str(state.get("model", "")))
            self.seed.edit.setText(str(state.get("seed", "")))
            self.count.setValue(int(state.get("count", self.count.value())))
            self.steps.setValue(int(state.get("steps", self.steps.value())))
            # After the model: choosing it fills its classes and its default guidance.
            self.label.setCurrentIndex(max(0, self.label.findData(state.get("label"))))
            self.guidance.setValue(float(state.get("guidance", self.guidance.value())))


def _record_of(path: Path) -> dict:
    """A model's JSON record (beside its weights), {} if it cannot be read."""
    import json

    with contextlib.suppress(OSError, ValueError):
        record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else {}
    return {}


def _classes_of(record: dict) -> list[str]:
    conditional = record.get("config", {}).get("num_classes")
    if record.get("family") == Family.DDPM.value and conditional:
        return [str(c) for c in record.get("meta", {}).get("classes", [])]
    return []


def _hbox(widget: QWidget):
    from PySide6.QtWidgets import QHBoxLayout

    row = QHBoxLayout(widget)
    row.setContentsMargins(0, 0, 0, 0)
    return row
