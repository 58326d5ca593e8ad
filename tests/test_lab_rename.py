"""Renaming a trained model in the Lab moves all of its files or none, and a name that
cannot be a file name (a path, '..', NUL, too long with its longest suffix) is one
sentence, before anything moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui.lab_model_files import MODEL_FILE_SUFFIXES
from gui.model_rename import rename_model


def a_model(folder: Path, stem: str = "vae-digits-1") -> Path:
    for suffix in MODEL_FILE_SUFFIXES:
        (folder / f"{stem}{suffix}").write_bytes(suffix.encode())
    return folder / f"{stem}.safetensors"


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("x" * 240, "at most 223 bytes"),  # fits as a model, not as its state's temp file
        ("x" * 300, "at most 223 bytes"),
        ("../elsewhere", "cannot contain /"),
        ("a/b", "cannot contain /"),
        ("..", "cannot start with a dot"),
        ("nul\0here", "control characters"),
    ],
)
def test_a_name_that_cannot_be_a_file_name_moves_nothing(tmp_path, name, words):
    models = tmp_path / "models"
    models.mkdir()
    path = a_model(models)
    before = contents(tmp_path)
    problem = rename_model(path, name, MODEL_FILE_SUFFIXES)
    assert problem is not None and words in problem and "\n" not in problem
    assert contents(tmp_path) == before


def test_a_rename_that_fails_half_way_puts_every_file_back(tmp_path, monkeypatch):
    path = a_model(tmp_path)
    before = contents(tmp_path)
    real_rename = Path.rename

    def rename(self, target):
        if str(target).endswith(".train.safetensors"):
            raise OSError(28, "No space left on device")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    problem = rename_model(path, "sevens", MODEL_FILE_SUFFIXES)
    assert problem is not None and "No space left on device" in problem
    assert contents(tmp_path) == before


def test_a_good_name_moves_every_file(tmp_path):
    path = a_model(tmp_path)
    assert rename_model(path, "my sevens", MODEL_FILE_SUFFIXES) is None
    assert sorted(contents(tmp_path)) == sorted(f"my sevens{s}" for s in MODEL_FILE_SUFFIXES)


def test_an_existing_model_of_that_name_is_not_overwritten(tmp_path):
    path = a_model(tmp_path)
    a_model(tmp_path, "taken")
    before = contents(tmp_path)
    assert "already a model called taken" in rename_model(path, "taken", MODEL_FILE_SUFFIXES)
    assert contents(tmp_path) == before


class SlotHost:
    """What the Lab's rename slot uses of its panel: the chosen entry, and what it calls."""

    def __init__(self, path: Path) -> None:
        self.entry = type("Entry", (), {"path": path, "bundled": False})()
        self.refreshed: list[str] = []
        self.models_changed = type("Signal", (), {"emit": lambda self: None})()

    def _entry(self):
        return self.entry

    def refresh_models(self, select: str = "") -> None:
        self.refreshed.append(select)


@pytest.mark.parametrize("name", ["x" * 240, "x" * 300, "../up", "nul\0here"])
def test_the_lab_slot_says_one_sentence_and_moves_nothing(tmp_path, monkeypatch, name):
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    from gui.lab_panel import LabPanel

    path = a_model(tmp_path)
    before = contents(tmp_path)
    said: list[str] = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (name, True))
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: said.append(text))
    host = SlotHost(path)
    LabPanel._rename(host)
    assert len(said) == 1 and said[0].endswith(".") and "\n" not in said[0]
    assert contents(tmp_path) == before and host.refreshed == []
