"""Where the app's file dialogs open.

A dialog given no folder (or a bare file name) opens in the process's working directory:
the app's own install folder when it is started from a shortcut, so one click on Save
wrote into it. Every dialog asks here instead: the folder last used for the same purpose
in this session, else the gallery (images the app made), else the user's Pictures folder,
else home. Reading the settings here is fine: it happens on a button press, not on an
interactive move.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import platformdirs

from gui.settings import AppSettings


class Purpose(str, Enum):
    """What a dialog is for; each remembers its own last folder."""

    EXPORT = "export"  # animations and other files written for sharing
    OPEN_IMAGE = "open-image"  # a picture to reconstruct, noise, upscale
    GALLERY_PICTURE = "gallery-picture"  # a picture this app made (a kept sample)
    TRAINING_FOLDER = "training-folder"
    MODELS = "models"  # model files and folders


_last: dict[Purpose, Path] = {}  # this session's last folder per purpose


def pictures_folder() -> Path:
    """The user's Pictures folder (XDG's, on Linux), or home when there is none."""
    folder = Path(platformdirs.user_pictures_dir())
    return folder if folder.is_dir() else Path.home()


def gallery_folder() -> Path:
    """The output folder the gallery shows, when it exists; else Pictures."""
    folder = AppSettings().output_dir
    return folder if folder.is_dir() else pictures_folder()


DEFAULTS = {
    Purpose.EXPORT: pictures_folder,
    Purpose.OPEN_IMAGE: gallery_folder,
    Purpose.GALLERY_PICTURE: gallery_folder,
    Purpose.TRAINING_FOLDER: pictures_folder,
    Purpose.MODELS: Path.home,
}


def start_folder(purpose: Purpose) -> Path:
    """The folder a dialog for `purpose` opens in: an absolute path, never the cwd."""
    last = _last.get(purpose)
    if last is not None and last.is_dir():
        return last
    return DEFAULTS[purpose]().absolute()


def start_path(purpose: Purpose, file_name: str) -> str:
    """What a save dialog is pre-filled with: `file_name` in the start folder."""
    return str(start_folder(purpose) / file_name)


def remember(purpose: Purpose, chosen: str) -> None:
    """Note the folder of what the user chose (a file's folder, or the folder itself)."""
    if not chosen:
        return
    path = Path(chosen).absolute()
    _last[purpose] = path if path.is_dir() else path.parent


def forget_all() -> None:
    """Tests start from the defaults."""
    _last.clear()
