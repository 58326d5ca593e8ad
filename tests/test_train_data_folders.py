"""`train --data` given folders that are not image folders: a sentence, not a traceback;
and a scan that never leaves the chosen tree through a symlinked folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput
from engine.data.folder import load_folder


def images(folder: Path, count: int, value: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = np.full((8, 8, 3), (value + i) % 256, np.uint8)
        Image.fromarray(pixels).save(folder / f"{value}-{i:03}.png")
    return folder


@pytest.mark.parametrize("system", ["/proc", "/sys", "/dev"])
def test_a_system_folder_is_refused_with_a_sentence(system):
    if not Path(system).is_dir():
        pytest.skip(f"no {system} here")
    with pytest.raises(BadInput, match="system folder"):
        load_folder(Path(system), 16)


def test_a_symlinked_folder_out_of_the_tree_is_not_followed(tmp_path):
    outside = images(tmp_path / "outside", 40, value=100)
    data = images(tmp_path / "data", 20)
    os.symlink(outside, data / "link", target_is_directory=True)
    array, report, _ = load_folder(data, 16)
    assert len(array) == report.used == 20


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_subfolder_is_skipped_and_named(tmp_path):
    data = images(tmp_path / "data", 20)
    locked = images(data / "locked", 3)
    locked.chmod(0)
    try:
        _, report, _ = load_folder(data, 16)
    finally:
        locked.chmod(0o755)
    assert report.used == 20 and any("locked" in s for s in report.skipped)


def test_a_link_that_cannot_be_looked_at_is_skipped_not_a_traceback(tmp_path, monkeypatch):
    data = images(tmp_path / "data", 20)
    os.symlink(tmp_path / "nowhere", data / "broken.png")
    real_is_file = Path.is_file

    def is_file(self):
        if self.name == "broken.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    _, report, _ = load_folder(data, 16)
    assert report.used == 20 and any("broken.png" in s for s in report.skipped)
