"""Whether a folder can take the gallery's images, decided before any work is done.

The user types the folder (Settings, `--out`), so it can be anything: empty, a file, a
system folder, a path longer than the file system allows, or a gallery whose day folder
is a link to somewhere else. Each gets a sentence; nothing is created here.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from engine.store.errors import StoreError, reason
from engine.store.layout import day_folder

# POSIX's limits on Linux and macOS (NAME_MAX, PATH_MAX); Windows' are shorter still, and
# its own error then says so. Checked up front so that a job never runs only to fail at
# its first save.
NAME_MAX = 255
PATH_MAX = 4096
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")


def check_output_folder(root: Path, when: datetime | None = None) -> None:
    """Refuse, before any work, an output folder that cannot take images; create nothing.

    The folder may not exist yet: then its nearest existing parent must be a writable
    folder. Raises StoreError with a sentence.
    """
    text = str(root)
    if not text.strip() or text == ".":
        raise StoreError("Choose an output folder for the images (it cannot be empty).")
    if "\0" in text:
        raise StoreError("The output folder's name contains a NUL character; choose another.")
    root = Path(root).expanduser().absolute()
    _check_length(root)
    try:
        _check_existing(root)
        _check_day_folder(root, when or datetime.now().astimezone())
    except OSError as exc:
        raise StoreError(f"Cannot use {root} as the output folder: {reason(exc)}.") from exc


def _check_length(root: Path) -> None:
    # The longest name the gallery adds below the root: a day folder and an image file
    # of up to ~90 characters (counter, seed, slug) or its hidden temp file.
    longest_part = max((len(os.fsencode(part)) for part in root.parts), default=0)
    if longest_part > NAME_MAX:
        raise StoreError(
            f"Cannot use that output folder: one of its names is {longest_part} bytes long, "
            f"and folder names can be at most {NAME_MAX}. Choose a shorter name."
        )
    if len(os.fsencode(str(root))) + 128 > PATH_MAX:
        raise StoreError(
            f"Cannot use that output folder: its path is {len(str(root))} characters long, "
            f"too long for the images inside it (at most about {PATH_MAX - 128}). Choose a "
            "folder with a shorter path."
        )


def _check_existing(root: Path) -> None:
    probe = root
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise StoreError(
            f"Cannot use {root} as the output folder: {probe} is a file, not a folder."
        )
    if str(root.resolve()).startswith(SYSTEM_FOLDERS):
        raise StoreError(f"Cannot use {root} as the output folder: it is a system folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise StoreError(
            f"Cannot write to {probe}: permission denied. Choose another output folder."
        )


def _check_day_folder(root: Path, when: datetime) -> None:
    folder = day_folder(root, when)
    check_inside(root, folder)


def check_inside(root: Path, folder: Path) -> None:
    """Refuse a day folder that leads out of the gallery (a link to elsewhere): images
    saved there would land outside the folder the user chose."""
    if not folder.is_symlink() and not folder.exists():
        return
    try:
        target = folder.resolve()
    except (OSError, RuntimeError):  # a loop of links
        target = None
    if target is None or not target.is_relative_to(root.resolve()):
        raise StoreError(
            f"{folder} is a link to {target or 'itself'}, outside the output folder; Latent "
            "Studio saves images only inside the folder you chose. Remove the link, or "
            "choose another output folder."
        )
