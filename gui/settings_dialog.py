"""Settings: where images go, where models are, which device computes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.library.detect import ModelKind
from engine.library.scan import count_by_kind, scan_library
from engine.store import StoreError, check_output_folder
from gui.engine_choice import EngineChoice
from gui.settings import AppSettings
from gui.start_folders import Purpose, gallery_folder, remember, start_folder

DEVICES = {
    "auto": "Automatic (CUDA, then Apple GPU, then CPU)",
    "cuda": "CUDA GPU (fp16)",
    "mps": "Apple GPU",
    "cpu": "CPU",
}
PRECISIONS = {
    "auto": "Fastest measured (bf16 on CPUs that compute it natively)",
    "fp32": "Full precision (fp32): the same pixels on every CPU",
}
OFFLOADS = {
    "auto": "Automatic (from the GPU's free memory)",
    "none": "None: all weights on the GPU",
    "model": "Model offload: one model at a time on the GPU",
    "sequential": "Sequential offload: one layer at a time (least memory, slowest)",
}
COMPILE_TIP = (
    "CPU only. Measured 1.2 to 1.6x faster per step on a full-size SD 1.5 UNet, but the "
    "first picture waits for the compile: about 2 minutes on a small CPU, up to 15 the "
    "very first time. It needs about the UNet's size again in memory (3.7 GB more for "
    "SD 1.5). The compiled kernels are kept in the cache folder, so later starts are "
    "quicker; a new picture size or LoRA compiles again. Pictures are within float "
    "rounding of uncompiled ones, not bit-equal. Without a C++ compiler it runs "
    "uncompiled and says so."
)


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._settings = settings

        self.output_dir = QLineEdit(str(settings.output_dir))
        browse_output = QToolButton(text="…")
        browse_output.clicked.connect(self._browse_output)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output_dir, 1)
        output_row.addWidget(browse_output)
        self.output_note = _note_label()
        self.output_dir.textChanged.connect(self._check_output)
        output_box = QVBoxLayout()
        output_box.addLayout(output_row)
        output_box.addWidget(self.output_note)

        self.models_dirs = QListWidget()
        self.models_dirs.addItems([str(p) for p in settings.models_dirs])
        self.models_dirs.setMaximumHeight(110)
        add_models = QPushButton("Add folder…")
        add_models.clicked.connect(self._add_models_dir)
        remove_models = QPushButton("Remove")
        remove_models.clicked.connect(
            lambda: [
                self.models_dirs.takeItem(self.models_dirs.row(i))
                for i in self.models_dirs.selectedItems()
            ]
        )
        models_buttons = QHBoxLayout()
        models_buttons.addWidget(add_models)
        models_buttons.addWidget(remove_models)
        models_buttons.addStretch(1)
        self.models_note = _note_label()
        self.models_dirs.model().rowsInserted.connect(self._check_models)
        self.models_dirs.model().rowsRemoved.connect(self._check_models)
        models_box = QVBoxLayout()
        models_box.addWidget(self.models_dirs)
        models_box.addWidget(self.models_note)
        models_box.addLayout(models_buttons)

        self.wildcards_dir = QLineEdit(str(settings.wildcards_dir))
        self.wildcards_dir.setToolTip(
            "Where __name__ in a prompt finds name.txt (one option a line; a subfolder "
            "as __hair/long__). Run a Batch reads it too."
        )
        browse_wildcards = QToolButton(text="…")
        browse_wildcards.clicked.connect(self._browse_wildcards)
        wildcards_row = QHBoxLayout()
        wildcards_row.addWidget(self.wildcards_dir, 1)
        wildcards_row.addWidget(browse_wildcards)

        self.device = QComboBox()
        for key, label in DEVICES.items():
            self.device.addItem(label, key)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.precision = QComboBox()
        for key, label in PRECISIONS.items():
            self.precision.addItem(label, key)
        self.precision.setCurrentIndex(max(0, self.precision.findData(settings.precision)))
        self.precision.setToolTip(
            "Which numbers Stable Diffusion computes in. The status bar shows the path in "
            "use and each picture's details record it."
        )
        self.offload = QComboBox()
        for key, label in OFFLOADS.items():
            self.offload.addItem(label, key)
        self.offload.setCurrentIndex(max(0, self.offload.findData(settings.offload)))
        self.offload.setToolTip(
            "CUDA only: when the GPU is smaller than the model, its weights wait in CPU "
            "memory and move in as they run. Slower, the same pixels."
        )
        self.compile_unet = QCheckBox("Compile the UNet (torch.compile)")
        self.compile_unet.setChecked(settings.compile_unet)
        self.compile_unet.setToolTip(COMPILE_TIP)
        hint = QLabel(
            "Add an AUTOMATIC1111 or ComfyUI install (or its models folder, or any folder of "
            "model files): checkpoints (.safetensors, .ckpt), diffusers folders, LoRAs, VAEs, "
            "embeddings and upscalers are found in it, and nothing is copied or changed."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #a8a8a8;")

        form = QFormLayout()
        form.addRow("Output folder", output_box)
        form.addRow("Models folders", models_box)
        form.addRow("", hint)
        form.addRow("Wildcards folder", wildcards_row)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("GPU offload", self.offload)
        form.addRow("CPU speed", self.compile_unet)
        self.engine = EngineChoice(settings.cluster_address)
        form.addRow("Engine", self.engine)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff8080;")
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._check_output()
        self._check_models()

    # ------------------------------------------------------------ checks next to the fields

    def _check_output(self) -> None:
        problem = output_problem(self.output_dir.text())
        _show(self.output_note, problem, error=True)

    def _check_models(self, *_args: object) -> None:
        notes = [
            models_folder_note(Path(self.models_dirs.item(i).text()))
            for i in range(self.models_dirs.count())
        ]
        _show(
            self.models_note,
            "\n".join(text for text, _ in notes),
            error=False,
            quiet=not any(warning for _, warning in notes),
        )

    def _browse_output(self) -> None:
        shown = Path(self.output_dir.text()).expanduser()
        start = str(shown if shown.is_absolute() and shown.is_dir() else gallery_folder())
        folder = QFileDialog.getExistingDirectory(self, "Output folder", start)
        if folder:
            self.output_dir.setText(folder)

    def _browse_wildcards(self) -> None:
        shown = Path(self.wildcards_dir.text()).expanduser()
        start = str(shown if shown.is_dir() else Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Wildcards folder", start)
        if folder:
            self.wildcards_dir.setText(folder)

    def _add_models_dir(self) -> None:
        start = str(start_folder(Purpose.MODELS))
        folder = QFileDialog.getExistingDirectory(self, "Models folder", start)
        if folder:
            remember(Purpose.MODELS, folder)
            self.models_dirs.addItem(folder)

    def problems(self) -> list[str]:
        """Sentences about values that cannot work; empty when all is well."""
        found = []
        if problem := output_problem(self.output_dir.text()):
            found.append(problem)
        for i in range(self.models_dirs.count()):
            folder = Path(self.models_dirs.item(i).text())
            if not folder.is_dir():
                found.append(
                    f"The models folder {folder} does not exist. Remove it or fix the path."
                )
        if problem := self.engine.problem():
            found.append(problem)
        return found

    def accept(self) -> None:
        found = self.problems()
        if found:
            self.error.setText("\n".join(found))
            self.error.show()
            return
        self.apply()
        super().accept()

    def apply(self) -> None:
        """Write the dialog's values to the settings."""
        self._settings.output_dir = Path(self.output_dir.text().strip())
        self._settings.models_dirs = [
            Path(self.models_dirs.item(i).text()) for i in range(self.models_dirs.count())
        ]
        if wildcards := self.wildcards_dir.text().strip():
            self._settings.wildcards_dir = Path(wildcards).expanduser()
        self._settings.device = str(self.device.currentData())
        self._settings.precision = str(self.precision.currentData())
        self._settings.offload = str(self.offload.currentData())
        self._settings.compile_unet = self.compile_unet.isChecked()
        self._settings.cluster_address = self.engine.address()
        self._settings.sync()


def output_problem(text: str) -> str:
    """Why a typed output folder cannot take images, or "" when it can."""
    try:
        check_output_folder(Path(text.strip()))
    except StoreError as exc:
        return exc.message
    return ""


KIND_WORDS = {
    ModelKind.CHECKPOINT: ("checkpoint", "checkpoints"),
    ModelKind.LORA: ("LoRA", "LoRAs"),
    ModelKind.VAE: ("VAE", "VAEs"),
    ModelKind.EMBEDDING: ("embedding", "embeddings"),
    ModelKind.UPSCALER: ("upscaler", "upscalers"),
    ModelKind.CONTROLNET: ("ControlNet", "ControlNets"),
    ModelKind.T2I_ADAPTER: ("T2I-Adapter", "T2I-Adapters"),
    ModelKind.IP_ADAPTER: ("IP-Adapter", "IP-Adapters"),
    ModelKind.CLIP_VISION: ("CLIP vision encoder", "CLIP vision encoders"),
    ModelKind.ANNOTATOR: ("annotator", "annotators"),
}


def models_folder_note(folder: Path) -> tuple[str, bool]:
    """What a models folder holds, said next to the list: '2 checkpoints, 1 LoRA'.

    Its headers are read here, on the GUI thread, once per folder the user adds (the
    library remembers them): a small price for the dialog telling the truth at once.
    Returns the sentence and whether it is a warning.
    """
    if not folder.is_dir():
        return f"{folder} does not exist.", True
    entries = scan_library([folder])
    counts = count_by_kind(entries)
    unsupported = sum(1 for e in entries if e.problem)
    if not counts:
        if unsupported:
            return f"{folder.name}: {unsupported} model file(s), none this app can use.", True
        return f"{folder.name}: no Stable Diffusion models found in it.", True
    found = [
        f"{n} {KIND_WORDS[kind][n != 1]}"
        for kind, n in sorted(counts.items(), key=lambda kv: list(KIND_WORDS).index(kv[0]))
        if kind in KIND_WORDS
    ]
    if unsupported:
        found.append(f"{unsupported} not usable (hover the model list for why)")
    return f"{folder.name}: {', '.join(found)}.", not counts.get(ModelKind.CHECKPOINT)


def _note_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.hide()
    return label


def _show(label: QLabel, text: str, error: bool, quiet: bool = False) -> None:
    label.setText(text)
    colour = "#ff8080" if error else "#9a9a9a" if quiet else "#f0a040"
    label.setStyleSheet(f"color: {colour};")
    label.setVisible(bool(text))
