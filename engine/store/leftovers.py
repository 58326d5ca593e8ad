"""What a killed save leaves behind, found and put right when a gallery is opened.

A save holds a reservation marker (`.NNNNN.reserved`) and writes the PNG to a hidden
temp file (`.NNNNN-seed-slug.png.xxxxxxxx.tmp`) before renaming it into place. A kill
between those steps leaves either file behind. A marker whose process is gone is
removed; a temp file whose save is not running any more is recovered into the gallery
when it is a complete PNG with our recipe (the kill came after the last byte), and
removed otherwise. Nothing of a save still running, in this process or another, is
touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from engine.store.layout import (
    RESERVED_SUFFIX,
    counter_of,
    marker_for_counter,
    marker_is_live,
)
from engine.store.metadata import RECIPE_KEY

log = logging.getLogger(__name__)

_TEMP = re.compile(r"^\.(?P<name>.+\.png)\.[0-9a-f]{8}\.tmp$")


@dataclass(frozen=True)
class Leftovers:
    recovered: int = 0  # complete PNGs moved into place
    removed: int = 0  # incomplete temp files and stale markers deleted


def clean_leftovers(root: Path) -> Leftovers:
    """Put right what killed saves left in the day folders of `root`."""
    recovered = removed = 0
    for folder in _day_folders(Path(root)):
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.startswith("."))
        for name in names:
            path = folder / name
            match = _TEMP.match(name)
            if match is not None:
                outcome = _settle_temp(path, folder / match.group("name"))
                recovered += outcome == "recovered"
                removed += outcome == "removed"
        for name in names:  # markers after temps: a temp's marker says whether it is live
            path = folder / name
            if name.endswith(RESERVED_SUFFIX) and not marker_is_live(path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    return Leftovers(recovered, removed)


def _day_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    with os.scandir(root) as entries:
        return sorted(
            Path(e.path)
            for e in entries
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )


def _settle_temp(temp: Path, target: Path) -> str | None:
    counter = counter_of(target.name)
    if counter is not None and marker_is_live(marker_for_counter(temp.parent, counter)):
        return None  # a save in progress
    if _is_complete_png(temp) and not target.exists():
        try:
            os.replace(temp, target)
        except OSError as exc:
            log.info("could not recover %s: %s", temp, exc)
            return None
        return "recovered"
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    return "removed"


_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _is_complete_png(path: Path) -> bool:
    """Ends with IEND, decodes to the last row, carries our recipe: all of it was written."""
    try:
        with open(path, "rb") as fh:
            fh.seek(-len(_IEND), os.SEEK_END)
            if fh.read() != _IEND:
                return False
        with Image.open(path) as image:
            image.load()
            return image.format == "PNG" and RECIPE_KEY in image.info
    except Exception:  # noqa: BLE001 - Pillow signals truncation with many types
        return False
