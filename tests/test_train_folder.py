"""Training from a folder of images: the Train tab says what the folder holds as soon as
it is picked (counted off the GUI thread), "A folder of images…" stays in the list to
pick another, and the engine's refusal of a small folder does not contradict itself."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from engine.api.errors import BadInput
from engine.data.folder import MIN_IMAGES, load_folder
from engine.local_engine import LocalCatalogue
from gui import folder_survey
from gui.train_data import FOLDER
from gui.train_panel import TrainPanel


def image_folder(folder: Path, images: int, junk: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        Image.new("RGB", (40, 30), (i * 7 % 256, 80, 160)).save(folder / f"img{i:03d}.png")
    for i in range(junk):
        (folder / f"notes{i}.txt").write_text("not a picture")
    if junk:
        (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    return folder


def test_a_small_folders_refusal_counts_images_once_and_skips_apart(tmp_path):
    folder = image_folder(tmp_path / "few", images=3, junk=2)
    with pytest.raises(BadInput) as caught:
        load_folder(folder, 32)
    message = caught.value.message
    # The usable images are counted once, as found; what follows about the skipped files
    # counts files, never images (it read "Skipped: 3 images; 3 skipped (…)").
    assert re.findall(r"(\d+) (?:usable )?images?\b", message) == ["3"]
    skipped = message[message.lower().index("skipped") :]
    assert not re.search(r"\d+ (?:usable )?images?\b", skipped)
    assert "3 skipped (broken.jpg: cannot be read" in message
    assert "notes0.txt: not a jpg, png or webp" in message


@pytest.fixture
def train(qtbot) -> TrainPanel:
    panel = TrainPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    return panel


def pick(train: TrainPanel, monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    """Choose "A folder of images…" in the Data list, as a user does, and answer the
    folder dialog with `answer` ("" cancels)."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: answer)
    index = train.data.findData(FOLDER)
    train.data.setCurrentIndex(index)
    train.data.activated.emit(index)


def items(train: TrainPanel) -> list[str]:
    return [train.data.itemText(i) for i in range(train.data.count())]


def test_picking_a_folder_says_what_it_holds_and_keeps_the_choice_to_pick_another(
    qtbot, train, tmp_path, monkeypatch
):
    folder = image_folder(tmp_path / "cats", images=MIN_IMAGES + 4)
    pick(train, monkeypatch, str(folder))
    qtbot.waitUntil(lambda: "to train on" in train.folder_note.text(), timeout=10_000)
    assert train.folder_note.text() == (
        f"{MIN_IMAGES + 4} images to train on; 3 skipped (broken.jpg: cannot be read "
        "(UnidentifiedImageError); notes0.txt: not a jpg, png or webp; notes1.txt: not a "
        "jpg, png or webp)."
    )
    assert train.folder_note.isVisible() or not train.isVisible()
    assert train.data.currentText() == "Folder: cats"
    assert items(train)[-1] == "A folder of images…"  # still there, to pick another
    assert train.build_request().dataset.name == str(folder)

    # Another folder replaces the first (one item for the folder picked), and says so.
    few = image_folder(tmp_path / "dogs", images=3, junk=0)
    pick(train, monkeypatch, str(few))
    qtbot.waitUntil(lambda: "dogs" not in train.folder_note.text(), timeout=10_000)
    assert train.folder_note.text() == f"Only 3 images here: training needs at least {MIN_IMAGES}."
    assert [t for t in items(train) if t.startswith("Folder:")] == ["Folder: dogs"]

    # A cancelled dialog goes back to the folder chosen before.
    pick(train, monkeypatch, "")
    assert train.data.currentText() == "Folder: dogs"


def test_a_cancelled_first_pick_goes_back_to_the_data_set_chosen_before(train, monkeypatch):
    train.data.setCurrentIndex(train.data.findData("shapes"))
    pick(train, monkeypatch, "")
    assert train.data.currentData() == "shapes"
    assert not train.folder_note.isVisibleTo(train)


def test_the_count_runs_off_the_gui_thread(qtbot, train, tmp_path, monkeypatch):
    folder = image_folder(tmp_path / "big", images=MIN_IMAGES)
    release, threads = threading.Event(), []
    real = folder_survey.survey_folder

    def slow_survey(path: Path):
        threads.append(threading.current_thread())
        assert release.wait(10)  # a big folder on a slow disk
        return real(path)

    monkeypatch.setattr(folder_survey, "survey_folder", slow_survey)
    pick(train, monkeypatch, str(folder))
    # The pick returned while the count is still under way: the window stays live.
    assert train.folder_note.text() == "Counting the images in big…"
    qtbot.waitUntil(lambda: bool(threads), timeout=5_000)
    assert threads[0] is not threading.main_thread()
    release.set()
    qtbot.waitUntil(lambda: "to train on" in train.folder_note.text(), timeout=10_000)
