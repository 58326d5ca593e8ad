"""Train: a VAE, GAN or DDPM on the bundled data or a folder of your images, watched live.

Losses are plotted as they come (one curve per term), a sample grid refreshes on the
canvas, throughput and ETA are shown; Pause/Resume and Stop act between two steps, and
Stop keeps the model as it is. A finished (or stopped) model appears in the Lab's picker.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.api import limits
from engine.api.events import Metrics, Progress
from engine.api.families import spec_of, title_of, trainable_families
from engine.api.kinds import Family
from engine.api.model_names import MAX_MODEL_NAME_BYTES
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.data.survey import FolderSurvey
from engine.interface import Catalogue
from gui.folder_survey import FolderSurveyor
from gui.start_folders import Purpose, start_folder
from gui.train_data import (
    CHOSEN,
    DATASETS,
    FOLDER,
    data_box,
    data_file_part,
    fit_size,
    offer_data,
    show_folder,
    size_box,
)
from gui.train_preview import TrainPreview
from gui.train_settings_form import TrainSettingsForm
from gui.train_sweep import SweepBox
from gui.widgets import quiet_label, spin_box


class TrainPanel(QWidget):
    start_requested = Signal()
    pause_requested = Signal()
    stop_requested = Signal()

    def __init__(self, *, catalogue: Catalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalogue = catalogue
        self.family = QComboBox()
        for family in trainable_families():  # the value: Qt keeps a str subclass as a str
            self.family.addItem(title_of(family), family.value)
        self.data = data_box()
        self.data.activated.connect(self._maybe_pick_folder)
        self.folder: str = ""
        self._data_before = DATASETS[0][0]  # what a cancelled folder dialog goes back to
        self.folder_note = quiet_label()  # what the picked folder holds, counted off-thread
        self.data_note = quiet_label()  # why the family cannot model a greyed-out data set
        self.data_note.setVisible(False)
        self.surveyor = FolderSurveyor(self)
        self.surveyor.surveyed.connect(self._show_survey)
        self.size = size_box()
        self.steps = _preset_or(spin_box(limits.TRAIN_STEPS, 1, step=500))
        self.batch = _preset_or(spin_box(limits.TRAIN_BATCH, 1))
        self.learning_rate = QDoubleSpinBox(
            decimals=5, minimum=0.0, maximum=1.0, singleStep=1e-4, value=0.0
        )
        self.learning_rate.setSpecialValueText("preset")
        self.seed = spin_box(limits.SEED, 0)
        self.family_settings = TrainSettingsForm()  # a family's own (a GMM's covariance)
        self.sweep = SweepBox()  # one setting over a range: a training per value
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start_requested)
        self.sweep.runs_changed.connect(self._name_start_button)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End now and keep the model as it is (it can be resumed)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.device = QLabel("…")
        self.device.setToolTip("Training runs where the engine computes: Settings → Device")
        self.resume_note = QLabel()
        self.resume_note.setWordWrap(True)
        self.new_model_button = QPushButton("Train a new model instead")
        self.new_model_button.clicked.connect(lambda: self.continue_from(None))
        self.resume_path: Path | None = None  # the stopped model this run continues
        self._done: int | None = None  # its steps, shown on the bar until it starts
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.status = quiet_label("Choose a family and data, then Start.")
        self.preview = TrainPreview()  # its samples: the canvas keeps the user's results
        self.plot = None  # the LossPlot, made when first shown (pyqtgraph loads then)
        self._plot_box = QVBoxLayout()
        self._started_at = 0.0
        self.family.currentIndexChanged.connect(self._sync)
        self.data.currentIndexChanged.connect(self._sync)

        form = QFormLayout()
        form.addRow("Family", self.family)
        form.addRow("Data", self.data)
        form.addRow("", self.folder_note)
        form.addRow("", self.data_note)
        form.addRow("Image size", self.size)
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Seed", self.seed)
        form.addRow(self.family_settings)
        form.addRow(self.sweep)
        form.addRow("Device", self.device)
        controls = QHBoxLayout()
        controls.addWidget(self.pause_button)
        controls.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.resume_note)
        layout.addWidget(self.new_model_button)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.preview)
        layout.addLayout(self._plot_box, 1)
        layout.addWidget(self.status)
        self.continue_from(None)
        self.set_running(False)
        self._sync()
        self.steps.valueChanged.connect(lambda _value: self._show_done())

    def showEvent(self, event) -> None:  # noqa: N802
        if self.plot is None:
            from gui.loss_plot import LossPlot

            self.plot = LossPlot()
            self._plot_box.addWidget(self.plot)
        super().showEvent(event)

    # ------------------------------------------------------------ the request

    @property
    def dataset_name(self) -> str:
        key = self.data.currentData()
        return self.folder if key == CHOSEN else key

    def build_request(self) -> TrainRequest:
        family = Family(self.family.currentData())
        key = self.data.currentData()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        room = MAX_MODEL_NAME_BYTES - len(f"{family.value}--{stamp}")
        name = data_file_part(key, self.folder, room)
        new_file = self.catalogue.user_models_dir() / f"{family.value}-{name}-{stamp}.safetensors"
        output = self.resume_path or new_file
        return TrainRequest(
            family=family,
            preset="custom" if key == CHOSEN else key,
            dataset=DatasetRef(self.dataset_name),
            training=Training(
                steps=self.steps.value(),
                batch_size=self.batch.value(),
                learning_rate=round(self.learning_rate.value(), 6),
                seed=self.seed.value(),
                checkpoint_every=500,
            ),
            output=str(output),
            image_size=self.size.currentData() if key == CHOSEN else 0,
            resume_from=str(self.resume_path) if self.resume_path else None,
            # a continued model keeps the settings its file records
            settings=() if self.resume_path else self.family_settings.pairs(),
        )

    def _name_start_button(self, runs: int) -> None:
        """Start says what it will queue: one training, or a sweep's runs."""
        if self.resume_path is None:
            self.start_button.setText(f"Start sweep ({runs} runs)" if runs else "Start training")

    def continue_from(self, path: Path | None, record: dict | None = None) -> None:
        """Set the form to continue a stopped model's training (None: a new model)."""
        self.resume_path = Path(path) if path else None
        self.resume_note.setVisible(path is not None)
        self.new_model_button.setVisible(path is not None)
        self.set_running(self.stop_button.isEnabled())  # enable what resuming may change
        if path is None or record is None:
            self._name_start_button(self.sweep.runs)
            if self._done is not None:  # the bar showed the model given up: clear it
                self.progress.reset()
                self.progress.setFormat("")
            self._done = None
            return
        meta = record.get("meta", {})
        self.family.setCurrentIndex(max(0, self.family.findData(record.get("family"))))
        source = str(meta.get("source", meta.get("dataset", "")))
        if self.data.findData(source) >= 0:
            self.data.setCurrentIndex(self.data.findData(source))
        else:
            self.set_folder(source)
        if self.data.currentData() == CHOSEN:
            self.size.setCurrentIndex(max(0, self.size.findData(meta.get("image_size", 32))))
        train = meta.get("train", {})
        self.batch.setValue(int(train.get("batch_size", 0)))
        self.learning_rate.setValue(float(train.get("learning_rate", 0.0)))
        self.seed.setValue(int(meta.get("seed", 0)))
        done = int(meta.get("steps", 0))
        planned = int(meta.get("steps_planned", 0))
        self.steps.setValue(planned if planned > done else done + 1000)
        self._show_done(done)
        self.resume_note.setText(
            f"Continues {Path(path).stem} from step {done:,}, with the settings it was "
            "made with. Steps is the total to reach."
        )
        self.start_button.setText("Continue training")
        self.set_running(False)

    def _show_done(self, done: int | None = None) -> None:
        """Before a continued run starts, the bar shows the model's steps against the
        Steps box (the total to reach), not the last run's "Step 276/8,000"."""
        if done is not None:
            self._done = done
        if self._done is None or self.stop_button.isEnabled():
            return
        total = max(self.steps.value(), self._done, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(self._done)
        self.progress.setFormat(f"Step {self._done:,}/{total:,} done")

    # ------------------------------------------------------------ while it runs

    def show_device(self, description: str) -> None:
        self.device.setText(f"{description} (Settings → Device)")

    def set_running(self, running: bool, paused: bool = False) -> None:
        self.start_button.setEnabled(not running)
        self.new_model_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        if running and (paused or self.progress.format().startswith("Paused")):
            # No ETA while paused (nothing moves); the next progress report resets it.
            step = f"step {self.progress.value():,}/{self.progress.maximum():,}"
            self.progress.setFormat(f"Paused at {step}" if paused else f"Resuming at {step}…")
        resuming = self.resume_path is not None  # only the total steps may change then
        for control in (
            self.family,
            self.data,
            self.size,
            self.batch,
            self.learning_rate,
            self.seed,
            self.family_settings,
            self.sweep,
        ):
            control.setEnabled(not running and not resuming)
        self.steps.setEnabled(not running)
        if not running:
            self._sync()

    def started(self) -> None:
        self._started_at = time.monotonic()
        if self.plot is not None:
            self.plot.clear()
        self.preview.clear()
        self.set_running(True)
        self.progress.setRange(0, 0)  # busy until the first step is reported
        self.progress.setFormat("")
        self.status.setText("Loading the data and building the networks…")

    def progress_event(self, event: Progress) -> None:
        if event.total <= 0:
            return
        self.progress.setRange(0, event.total)
        self.progress.setValue(event.step)
        eta = f" · {_duration(event.eta_s)} left" if event.eta_s is not None else ""
        self.progress.setFormat(f"Step {event.step:,}/{event.total:,}{eta}")

    def metrics(self, event: Metrics) -> None:
        if self.plot is not None:
            self.plot.add(event.step, event.values)
        rate = event.values.get("images_per_s")
        losses = ", ".join(f"{k} {v:.3g}" for k, v in event.values.items() if k != "images_per_s")
        rate_text = f" · {rate:,.0f} images/s" if rate else ""
        self.status.setText(f"Step {event.step:,}{rate_text}\n{losses}")

    def ended(self, message: str) -> None:
        if self.progress.maximum() == 0:  # it ended before its first step
            self.progress.setRange(0, 1)
        self.progress.setFormat(self.progress.format().split(" · ")[0])
        self.continue_from(None)
        self.set_running(False)
        self.status.setText(message)

    # ------------------------------------------------------------ helpers

    def _maybe_pick_folder(self) -> None:
        if self.data.currentData() != FOLDER:
            return
        start = self.folder or str(start_folder(Purpose.TRAINING_FOLDER))
        folder = QFileDialog.getExistingDirectory(self, "A folder of images to train on", start)
        if folder:
            self.set_folder(folder)
        else:  # cancelled: back to the data chosen before
            self.data.setCurrentIndex(max(0, self.data.findData(self._data_before)))

    def set_folder(self, folder: str) -> None:
        """Train on `folder`: its own item, above "A folder of images…" (which stays, to
        pick another); what it holds is counted off-thread and shown under it."""
        self.folder = folder
        show_folder(self.data, folder)
        self.folder_note.setText(f"Counting the images in {Path(folder).name}…")
        self.surveyor.survey(folder)

    def _show_survey(self, folder: str, survey: FolderSurvey | None) -> None:
        if folder == self.folder:
            self.folder_note.setText(survey.sentence() if survey else "")

    def _sync(self) -> None:
        """A bundled data set has its own size (shown, fixed); a folder's is chosen. The
        sets the family cannot model are greyed out, with its reason."""
        spec = spec_of(Family(self.family.currentData()))
        offer_data(self.data, self.data_note, spec)
        self.family_settings.set_settings_class(spec.train_settings)
        self.sweep.set_family(spec.id)
        key = self.data.currentData()
        if key != FOLDER:  # the dialog's item is only ever current while it is open
            self._data_before = key
        self.folder_note.setVisible(key == CHOSEN)
        fit_size(self.size, key)
        self.size.setEnabled(key == CHOSEN and self.start_button.isEnabled())


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60}:{seconds % 60:02d}"


def _preset_or(box: QSpinBox) -> QSpinBox:
    """0, shown as "preset", means the preset's value."""
    box.setMinimum(0)
    box.setValue(0)
    box.setSpecialValueText("preset")
    return box
