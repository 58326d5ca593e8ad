"""Fixtures shared by the tests that open the real main window (tests/conftest.py
imports them). A module that needs a variant overrides one by name: `window` asking for
`window` gets this one, then e.g. switches to its mode.

The GUI is imported inside the fixtures, so engine-only tests do not load Qt.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def settings(tmp_path: Path):
    """Settings of a first start: a config folder and an output folder of the test's own."""
    from gui.settings import AppSettings

    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    return settings


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's own models folder (where the Lab saves), inside the test's tmp_path."""
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "models"


@pytest.fixture
def window(qtbot, settings, trash):
    """The real main window, shown, recording its engine's events in `window.events`."""
    from gui.app import create_main_window

    window = create_main_window(settings)
    window.events = []
    window.client.event.connect(window.events.append)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close_now()
