"""Latent Lab: sample the classic generative models, train them, and measure them.

Sample: a Generate makes one sheet of samples (one image in the gallery, whose recipe
lists every sample's seed); clicking a sample on the canvas selects it, and Keep sample
saves that one on its own (drawn again from its seed: the same pixels). Diffusion models
add steps, the class to draw and guidance. Trained models sit beside the bundled ones
and can be renamed, deleted and scored by the quality meter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.catalogue import CatalogueEntry
from engine.api.families import sample_options_of, spec_of
from engine.api.outcomes import ImagesOutcome, ModelOutcome, Outcome, VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import Request, SampleRequest, ScoreRequest
from engine.handle import JobHandle
from engine.interface import Catalogue
from engine.quality.record import load_quality
from gui.bindings import bind_combo, bind_line_edit, bind_spin
from gui.explore import ExploreTab
from gui.explore.tab import PLACES as EXPLORE_PLACES
from gui.lab_model_files import (
    ask_delete,
    ask_rename,
    can_continue,
    classes_of,
    default_guidance,
    record_of,
)
from gui.lab_timeline import TimelineTab
from gui.mode_panel import ModePanel, Send
from gui.quality_line import quality_text, quality_warning
from gui.sample_options_form import SampleOptionsForm
from gui.seed_edit import SeedEdit
from gui.train_panel import TrainPanel
from gui.train_sweep import start_sweep
from gui.viewmodels.lab import LabViewModel
from gui.widgets import double_spin_box, spin_box


class LabPanel(QWidget, ModePanel):
    title = "Latent Lab"
    canvas_hint = (
        "Press Generate (Ctrl+Enter) to sample the chosen model, or to run the Explore "
        "tab's tool. A training shows its samples in the Train tab."
    )
    reopens = ("lab", *EXPLORE_PLACES)
    generate_requested = Signal()
    training_control = Signal(str)  # "pause" or "stop"
    models_changed = Signal()
    view_changed = Signal()  # History shows its table in place of the canvas

    def __init__(self, *, catalogue: Catalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalogue = catalogue  # the engine's models, not this computer's files
        self.vm = LabViewModel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._sample_tab(), "Sample")
        self._bind()
        self.train = TrainPanel(catalogue=catalogue)
        self.train.start_requested.connect(self._start_training)
        self.train.pause_requested.connect(lambda: self.training_control.emit("pause"))
        self.train.stop_requested.connect(lambda: self.training_control.emit("stop"))
        self.tabs.addTab(self.train, "Train")
        self.explore = ExploreTab()
        self.explore.run_requested.connect(self.generate_requested)
        self.tabs.addTab(self.explore, "Explore")
        self.timeline = TimelineTab()
        self.timeline.open_model.connect(self._explore_model)
        self.tabs.addTab(self.timeline, "History")
        self.tabs.currentChanged.connect(lambda _i: self.view_changed.emit())
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

        form = QFormLayout()
        picker = QWidget()
        picker_row = QHBoxLayout(picker)
        picker_row.setContentsMargins(0, 0, 0, 0)
        picker_row.addWidget(self.model_box, 1)
        picker_row.addWidget(self.model_button)
        form.addRow("Model", picker)
        form.addRow("Seed", self.seed)
        form.addRow("Samples", self.count)
        form.addRow("Steps", self.steps)
        form.addRow("Class", self.label)
        form.addRow("Guidance", self.guidance)
        self.options_form = SampleOptionsForm()
        form.addRow(self.options_form)
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

    def _bind(self) -> None:
        vm = self.vm
        self.model_binding = bind_combo(self.model_box, vm.model)
        vm.model.changed.connect(self._model_changed)
        bind_line_edit(self.seed.edit, vm.seed)
        bind_spin(self.count, vm.count)
        bind_spin(self.steps, vm.steps)
        self.label_binding = bind_combo(self.label, vm.label)
        bind_spin(self.guidance, vm.guidance)
        self.options_form.changed.connect(lambda: vm.options.set(self.options_form.values()))
        vm.options.changed.connect(lambda *_: self.options_form.set_values(vm.options.value))

    # ------------------------------------------------------------ models

    def refresh_models(self, select: str = "") -> None:
        """List the catalogue's models again; what is chosen is shown afresh."""
        entries = self.catalogue.lab_models()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for entry in entries:
            self.model_box.addItem(entry.title, entry.ref)
            self.model_box.setItemData(
                self.model_box.count() - 1, str(entry.path), Qt.ItemDataRole.ToolTipRole
            )
        self.model_box.blockSignals(False)
        if not self.vm.set_models([e.ref for e in entries], select):
            self.model_binding.show()
            self._model_changed()

    @property
    def model(self) -> ModelRef | None:
        return self.vm.model.value

    def _entry(self) -> CatalogueEntry | None:
        model = self.model
        return next((e for e in self.catalogue.lab_models() if model and e.ref == model), None)

    def _model_changed(self, *_args: object) -> None:
        model = self.model
        self.about.setText(spec_of(model.family).about if model else "")  # the family's idea
        entry = self._entry()
        self._show_quality(load_quality(entry.path) if entry else {})
        self.explore.set_model(model)
        for widget in self._diffusion_rows:
            widget.setVisible(self.vm.diffusion)
            self._form.labelForField(widget).setVisible(self.vm.diffusion)
        own = None if self.vm.diffusion or model is None else sample_options_of(model.family)
        self.options_form.set_options_class(own)
        self.vm.options.set(self.options_form.values())
        record = record_of(entry.path) if entry else {}
        self.vm.describe_model(classes_of(record), default_guidance(record))
        self._fill_classes()
        trained = entry is not None and not entry.bundled
        self.rename_action.setEnabled(trained)
        self.delete_action.setEnabled(trained)
        self.continue_action.setEnabled(trained and can_continue(entry.path))

    def _fill_classes(self) -> None:
        self.label.blockSignals(True)
        self.label.clear()
        self.label.addItem("any (from each seed)", None)
        for i, name in enumerate(self.vm.classes):
            self.label.addItem(name, i)
        self.label.setEnabled(bool(self.vm.classes))
        self.label.blockSignals(False)
        self.label_binding.show()

    def _rename(self) -> None:
        if (entry := _trained(self._entry())) and (target := ask_rename(self, entry.path)):
            self.refresh_models(select=str(target))
            self.models_changed.emit()

    def _delete(self) -> None:
        if (entry := _trained(self._entry())) and ask_delete(self, entry.path):
            self.refresh_models()
            self.models_changed.emit()

    def _continue_training(self) -> None:
        if entry := _trained(self._entry()):
            self.train.continue_from(entry.path, record_of(entry.path))
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
        return self.vm.sample_request()

    # ------------------------------------------------------------ its jobs

    def set_submit(self, send: Send) -> None:
        self.send = send
        self.explore.set_submit(send)
        self.timeline.set_submit(send)

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
        if self.train.sweep.active:
            start_sweep(self)
            return
        handle = self.send(self.train.build_request())
        if handle is None:
            return
        train = self.train
        train.started()
        self.follow(handle)
        handle.finished.connect(self._trained)
        handle.failed.connect(lambda message, _kind: train.ended(message))
        handle.cancelled.connect(lambda: train.ended("Cancelled."))

    def follow(self, handle: JobHandle, shown: Callable[[], bool] = lambda: True) -> None:
        """The Train tab shows a training's progress, losses and samples (while `shown`:
        of a sweep's runs training at once, one is drawn)."""
        train = self.train

        def when_shown(slot: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda event: slot(event) if shown() else None

        handle.metrics.connect(when_shown(train.metrics))
        handle.progress.connect(when_shown(train.progress_event))
        handle.frames.connect(when_shown(lambda frames: train.preview.show_samples(frames.frames)))
        handle.paused.connect(lambda: train.set_running(True, paused=True))
        handle.resumed.connect(lambda: train.set_running(True, paused=False))

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
        self.vm.apply_request(request, seed)

    def reopen(self, request: Request, seed: int | None) -> None:
        """Use these parameters of a sheet, or of an Explore result (a strip, a filmstrip,
        a kept code): the Explore page its recipe names."""
        if request.reopens_in == "lab":
            self.apply_request(request, seed)
            return
        self.refresh_models(select=request.model.id)
        self.tabs.setCurrentWidget(self.explore)
        self.explore.reopen(request)

    def own_views(self) -> list[QWidget]:
        return [self.timeline.view]

    def shown_view(self) -> QWidget | None:
        return self.timeline.view if self.tabs.currentWidget() is self.timeline else None

    def _explore_model(self, model: ModelRef) -> None:
        """A History row was opened: its model, on the Explore tab."""
        self.refresh_models(select=model.id)
        self.tabs.setCurrentWidget(self.explore)

    def state(self) -> dict[str, Any]:
        return self.vm.state()

    def restore(self, state: dict[str, Any]) -> None:
        self.refresh_models(select=str(state.get("model", "")))
        self.vm.restore(state)


def _trained(entry: CatalogueEntry | None) -> CatalogueEntry | None:
    """The entry when it is a trained model (one the user may rename or delete)."""
    return None if entry is None or entry.bundled else entry
