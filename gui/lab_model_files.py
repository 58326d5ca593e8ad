"""A trained Lab model's files beside its weights: its record (classes, guidance), and
renaming or deleting them all together from the Lab's model menu."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from engine.api import families
from engine.api.sample_options import DiffusionSampleOptions
from gui.model_rename import rename_model

# A model's files: weights, record, training state (for resume), quality figures.
MODEL_FILE_SUFFIXES = (".safetensors", ".json", ".train.safetensors", ".quality.json")


def record_of(path: Path) -> dict:
    """A model's JSON record (beside its weights), {} if it cannot be read."""
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else {}
    return {}


def classes_of(record: dict) -> list[str]:
    """A class-conditional diffusion model's class names; [] for any other model."""
    conditional = record.get("config", {}).get("num_classes")
    family = str(record.get("family", ""))
    if conditional and families.takes_options(family, DiffusionSampleOptions):
        return [str(c) for c in record.get("meta", {}).get("classes", [])]
    return []


def default_guidance(record: dict) -> float:
    return float(record.get("meta", {}).get("default_guidance", 1.0))


def can_continue(path: Path) -> bool:
    """Whether the training state was kept, so training can resume."""
    return path.with_suffix(".train.safetensors").is_file()


def ask_rename(parent: QWidget, path: Path) -> Path | None:
    """Ask for a new name and rename every file of the model; the new weights' path."""
    name, ok = QInputDialog.getText(parent, "Rename model", "New name:", text=path.stem)
    if not ok or not name.strip():
        return None
    if problem := rename_model(path, name.strip(), MODEL_FILE_SUFFIXES):
        QMessageBox.warning(parent, "Not renamed", problem)
        return None
    return path.with_name(f"{name.strip()}.safetensors")


def ask_delete(parent: QWidget, path: Path) -> bool:
    """Ask, then move every file of the model to the trash; True when it was."""
    answer = QMessageBox.question(
        parent, "Delete model", f"Move {path.stem} (and its training state) to the trash?"
    )
    if answer != QMessageBox.StandardButton.Yes:
        return False
    from send2trash import send2trash

    for suffix in MODEL_FILE_SUFFIXES:
        if path.with_suffix(suffix).exists():
            send2trash(path.with_suffix(suffix))
    return True
