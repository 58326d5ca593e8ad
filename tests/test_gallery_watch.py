"""The gallery's folder watcher: when it fires, the GUI thread never touches the disk.

The folder is listed (and the index synced) on the gallery's sync worker; the GUI thread
only refreshes from the index and updates the watched folders it was handed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from engine.store import GalleryStore
from gui.gallery_panel import GalleryPanel

DISK_CALLS = ("scandir", "listdir", "stat", "lstat")


@pytest.fixture
def panel(qtbot, tmp_path: Path):
    store = GalleryStore(tmp_path / "out")
    panel = GalleryPanel(store)
    qtbot.addWidget(panel)
    panel.sync()
    qtbot.waitUntil(lambda: not panel.syncer.running and bool(panel.watcher.directories()))
    yield panel
    panel.close_loader()
    store.close()


def count_gui_thread_disk_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap os's disk functions; record each call made on the GUI (main) thread."""
    calls: list[str] = []
    for name in DISK_CALLS:
        real = getattr(os, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            if threading.current_thread() is threading.main_thread():
                calls.append(f"{_name}{args[:1]}")
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, counted)
    return calls


def test_the_watcher_firing_lists_the_folder_off_the_gui_thread(qtbot, panel, monkeypatch):
    root = panel.store.root
    day = root / "2026-01-02"
    day.mkdir()
    Image.new("RGB", (8, 8), "red").save(day / "added.png")
    calls = count_gui_thread_disk_calls(monkeypatch)

    panel.watcher.directoryChanged.emit(str(root))  # what a change in the folder does

    qtbot.waitUntil(lambda: panel.model.row_of(str(day / "added.png")) is not None)
    qtbot.waitUntil(lambda: str(day) in panel.watcher.directories())
    monkeypatch.undo()
    assert calls == []
    assert set(panel.watcher.directories()) == {str(root), str(day)}


def test_a_folder_that_is_gone_is_no_longer_watched(qtbot, panel):
    root = panel.store.root
    day = root / "2026-01-03"
    day.mkdir()
    panel.sync()
    qtbot.waitUntil(lambda: str(day) in panel.watcher.directories())
    day.rmdir()
    panel.sync()
    qtbot.waitUntil(lambda: panel.watcher.directories() == [str(root)])
