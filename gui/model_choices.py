"""Create's model and VAE pickers: what a scan of the model folders offers to choose,
titled and explained the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QMenu, QToolButton, QWidget

from engine.library.detect import ModelKind
from engine.library.scan import DIFFUSERS, LibraryEntry, human_size
from gui.library_scanner import LibraryListing
from gui.start_folders import Purpose, remember, start_folder

NO_MODEL = "No model yet: Settings → Models folders"
SCANNING = "Looking for models…"
OWN_VAE = "The model's own"
PREDICTIONS = {"As the model says": "", "ε (epsilon)": "epsilon", "v (v-prediction)": "v"}


def model_box() -> QComboBox:
    box = QComboBox()
    box.setMinimumContentsLength(12)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setPlaceholderText(NO_MODEL)
    # The placeholder would set the form's minimum width (Qt counts it): shown whole when
    # there is room, cut off, never widening the panel, when there is not.
    box.setMinimumWidth(box.fontMetrics().averageCharWidth() * 16)
    return box


def browse_button(open_folder: Callable[[], None], open_file: Callable[[], None]) -> QToolButton:
    """ "…" beside the model picker: open a model from outside the model folders."""
    button = QToolButton(text="…")
    button.setToolTip("Open a Stable Diffusion model (a diffusers folder)")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    menu.addAction("Open a model folder…", open_folder)
    menu.addAction("Open a model file…", open_file)
    button.setMenu(menu)
    return button


def vae_box() -> QComboBox:
    box = QComboBox()
    box.addItem(OWN_VAE, "")
    box.setToolTip("A VAE file to decode with instead of the model's own; remembered per model")
    return box


def prediction_box() -> QComboBox:
    box = QComboBox()
    for label, value in PREDICTIONS.items():
        box.addItem(label, value)
    box.setToolTip(
        "What the model was trained to predict. Files usually say; SD 2.x 768 models "
        "often do not, and need v. Remembered per model."
    )
    return box


def ask_model_folder(parent: QWidget) -> str:
    """A diffusers folder the user opens ("" if none); its parent is remembered."""
    start = str(start_folder(Purpose.MODELS))
    folder = QFileDialog.getExistingDirectory(parent, "Open a Stable Diffusion model folder", start)
    if folder:
        remember(Purpose.MODELS, str(Path(folder).parent))
    return folder


def ask_model_file(parent: QWidget) -> str:
    """A checkpoint file the user opens ("" if none); where it is, remembered."""
    path, _ = QFileDialog.getOpenFileName(
        parent,
        "Open a Stable Diffusion model file",
        str(start_folder(Purpose.MODELS)),
        "Checkpoints (*.safetensors *.ckpt)",
    )
    if path:
        remember(Purpose.MODELS, path)
    return path


def fill_models(box: QComboBox, listing: LibraryListing) -> int:
    """List the checkpoints, none chosen (signals blocked); how many can be chosen."""
    box.blockSignals(True)
    box.clear()
    usable = 0
    for entry in listing.entries:
        if entry.kind is not ModelKind.CHECKPOINT and not entry.detected.other:
            continue  # LoRAs, VAEs... are not models to generate with
        box.addItem(model_title(entry, listing.short_hash(entry)), str(entry.path))
        index = box.count() - 1
        box.setItemData(index, model_tooltip(entry), Qt.ItemDataRole.ToolTipRole)
        if entry.problem:  # shown, so the user learns what the file is; not choosable
            box.model().item(index).setEnabled(False)
        else:
            usable += 1
    box.setPlaceholderText(NO_MODEL)
    box.setCurrentIndex(-1)
    box.blockSignals(False)
    return usable


def first_usable(box: QComboBox) -> int:
    return next((i for i in range(box.count()) if box.model().item(i).isEnabled()), -1)


def add_model_path(box: QComboBox, path: str) -> int:
    """A model chosen outside the folders (opened, or from a recipe): its index once
    added; -1 (nothing added) when the path is gone."""
    if not path or not Path(path).exists():
        return -1
    box.addItem(Path(path).name, path)
    box.setItemData(box.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
    return box.count() - 1


def fill_vaes(box: QComboBox, listing: LibraryListing) -> None:
    """The model's own VAE, then each usable VAE file (signals blocked)."""
    box.blockSignals(True)
    box.clear()
    box.addItem(OWN_VAE, "")
    for entry in listing.entries:
        if entry.kind is ModelKind.VAE and not entry.problem:
            box.addItem(f"{entry.name} · {human_size(entry.size)}", str(entry.path))
    box.blockSignals(False)


def add_vae_path(box: QComboBox, path: str) -> int:
    """A VAE file outside the folders: its index once added; the model's own if gone."""
    if not path or not Path(path).is_file():
        return 0
    box.addItem(Path(path).stem, path)
    return box.count() - 1


def model_title(entry: LibraryEntry, short_hash: str | None) -> str:
    """'dreamshaper_8 · SD 1.x · 2.1 GB · 879db523c3'; a file that cannot be used says why."""
    if entry.problem:
        return f"{entry.name} — {entry.problem}"
    parts = [entry.name, entry.detected.label]
    if entry.format == DIFFUSERS:
        parts.append("diffusers folder")
    parts.append(human_size(entry.size))
    if short_hash:
        parts.append(short_hash)
    return " · ".join(parts)


def model_tooltip(entry: LibraryEntry) -> str:
    kind = "diffusers folder" if entry.format == DIFFUSERS else "single-file checkpoint"
    lines = [str(entry.path), f"{entry.detected.label}, {kind}, {human_size(entry.size)}"]
    if entry.problem:
        lines.append(entry.problem)
    elif entry.format != DIFFUSERS and entry.path.suffix.lower() != ".safetensors":
        lines.append(
            "A pickled checkpoint: it loads (tensors only), but a .safetensors copy loads "
            f'faster and safer: python main.py convert "{entry.path}"'
        )
    return "\n".join(lines)
