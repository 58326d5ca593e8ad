"""File dialogs open where the user's files are, never in the app's own folder.

Started from a shortcut, the working directory is the install folder: a dialog given no
folder opened there, and Export animation's pre-filled bare name wrote into it in one
click. Each dialog is opened here from its button with the working directory set to a
stand-in install folder, and the folder it was given is checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine.local_engine import LocalCatalogue
from gui import start_folders
from gui.create_panel import CreatePanel
from gui.explore.animation import AnimationPlayer
from gui.explore.forward_page import ForwardPage
from gui.explore.reconstruct_page import ReconstructPage
from gui.explore.walk_page import WalkPage
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from gui.train_data import FOLDER
from gui.train_panel import TrainPanel
from gui.upscale.panel import UpscalePanel


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A home with Pictures, a gallery folder in the settings, and the working
    directory in an install folder."""
    home, install = tmp_path / "home", tmp_path / "install"
    pictures, gallery = home / "Pictures", home / "Pictures" / "Latent Studio"
    for folder in (install, gallery):
        folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("LATENTSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    settings = AppSettings()
    settings.output_dir = gallery
    settings.sync()
    monkeypatch.chdir(install)
    start_folders.forget_all()
    return {"home": home, "install": install, "pictures": pictures, "gallery": gallery}


class Dialogs:
    """Stands in for QFileDialog's static functions: records the start folder, cancels."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: str = "") -> None:
        self.starts: list[str] = []
        self.answer = answer
        for name in ("getOpenFileName", "getSaveFileName"):
            monkeypatch.setattr(QFileDialog, name, self._file)
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", self._folder)

    def _file(self, _parent, _title, start="", _filter="", *args, **kwargs):
        self.starts.append(start)
        return self.answer, ""

    def _folder(self, _parent, _title, start="", *args, **kwargs):
        self.starts.append(start)
        return self.answer

    @property
    def last(self) -> Path:
        return Path(self.starts[-1])


def frames(count: int = 3, side: int = 32) -> list[np.ndarray]:
    """Frames of four flat colours in quadrants (few colours: a GIF keeps them exact)."""
    out = []
    for i in range(count):
        frame = np.zeros((side, side, 3), np.uint8)
        frame[: side // 2, : side // 2] = (255, 0, 0)
        frame[side // 2 :, side // 2 :] = (0, 0, 255)
        frame[0, 0] = (0, 255, 0) if i % 2 else (255, 255, 255)
        out.append(frame)
    return out


def test_export_animation_prefills_its_name_in_pictures_not_the_install_folder(
    qtbot, user, monkeypatch
):
    dialogs = Dialogs(monkeypatch)
    player = AnimationPlayer("nothing yet", "walk.gif")
    qtbot.addWidget(player)
    player.set_frames(frames())
    qtbot.mouseClick(player.export_button, Qt.MouseButton.LeftButton)
    assert dialogs.last == user["pictures"] / "walk.gif"
    # The folder the user exported to is where the next export opens.
    chosen = user["home"] / "shared"
    chosen.mkdir()
    dialogs.answer = str(chosen / "mine.gif")
    qtbot.mouseClick(player.export_button, Qt.MouseButton.LeftButton)
    assert (chosen / "mine.gif").is_file()
    dialogs.answer = ""
    qtbot.mouseClick(player.export_button, Qt.MouseButton.LeftButton)
    assert dialogs.last == chosen / "walk.gif"
    assert not list(user["install"].iterdir())


def test_every_open_dialog_starts_in_the_users_folders(qtbot, user, monkeypatch):
    dialogs = Dialogs(monkeypatch)
    reconstruct, forward, walk, train = (
        ReconstructPage(),
        ForwardPage(),
        WalkPage(),
        TrainPanel(catalogue=LocalCatalogue()),
    )
    create, settings = CreatePanel(), SettingsDialog(AppSettings())
    for widget in (reconstruct, forward, walk, train, create, settings):
        qtbot.addWidget(widget)
    opened = {
        "reconstruct": (reconstruct._open, user["gallery"]),
        "forward": (forward._open, user["gallery"]),
        "walk's kept picture": (lambda: walk._choose_kept("from"), user["gallery"]),
        "training folder": (lambda: _pick_training_folder(train), user["pictures"]),
        "model file": (create._browse_file, user["home"]),
        "model folder": (create._browse_folder, user["home"]),
        "models folder": (settings._add_models_dir, user["home"]),
        "output folder": (settings._browse_output, user["gallery"]),
    }
    for what, (open_dialog, expected) in opened.items():
        open_dialog()
        assert dialogs.last == expected, what


def test_upscales_file_dialog_starts_in_the_gallery(qtbot, user):
    panel = UpscalePanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.choose_files()
    try:
        assert Path(panel.file_dialog.directory().absolutePath()) == user["gallery"]
    finally:
        panel.file_dialog.reject()


def _pick_training_folder(train: TrainPanel) -> None:
    train.data.setCurrentIndex(train.data.findData(FOLDER))
    train._maybe_pick_folder()


def test_an_exported_animation_is_enlarged_to_a_shareable_size_pixel_for_pixel(
    qtbot, tmp_path, user
):
    player = AnimationPlayer("nothing yet", "walk.gif")
    qtbot.addWidget(player)
    shown = frames(side=32)
    player.set_frames(shown)
    gif = tmp_path / "walk.gif"
    assert player.export_to(str(gif)) == ""
    with Image.open(gif) as animation:
        assert animation.size == (256, 256)  # 8 x the model's 32 pixels
        assert animation.n_frames == 3
        animation.seek(1)
        pixels = np.asarray(animation.convert("RGB"))
    # Nearest neighbour: each model pixel is an 8 x 8 block of its exact colour.
    assert (pixels[:8, :8] == shown[1][0, 0]).all()
    assert (pixels[8:16, :8] == shown[1][1, 0]).all()
    assert (pixels[128:, 128:] == (0, 0, 255)).all()


def test_the_export_size_can_be_chosen_and_is_kept_for_the_next_frames(qtbot, tmp_path, user):
    player = AnimationPlayer("nothing yet", "walk.webp")
    qtbot.addWidget(player)
    player.set_frames(frames(side=8))  # the digits' 8 pixels: enlarged ×32
    assert player.scale.currentText() == "×32 · 256×256"
    player.scale.setCurrentIndex(player.scale.findData(4))
    player.scale.activated.emit(player.scale.currentIndex())  # as a user's pick does
    player.set_frames(frames(side=32))
    webp = tmp_path / "walk.webp"
    assert player.export_to(str(webp)) == ""
    with Image.open(webp) as animation:
        assert animation.size == (128, 128)
