"""Waiting for a picture to be opened: its pixels and details are read off the GUI thread
(gui/picture_opener.py), so a test that opens one waits for them to arrive."""

from __future__ import annotations

from pathlib import Path


def wait_opened(qtbot, window, path: str | Path, timeout: int = 10_000) -> None:
    """Until `path` is the picture the canvas and the details show, nothing else pending."""
    qtbot.waitUntil(
        lambda: window.view.opening is None and window.shown_file == str(path), timeout=timeout
    )


def wait_described(qtbot, window, timeout: int = 10_000) -> None:
    """Until a finished job's file is described: its metadata is read off the GUI thread
    (gui/result_view.py), after the job's pixels are on the canvas."""
    qtbot.waitUntil(lambda: window.view.describing is None, timeout=timeout)
