"""Quitting while a model trains offers to stop it and keep the model (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.api.events import Finished, Metrics
from engine.api.kinds import Family
from engine.api.outcomes import ModelOutcome


@pytest.fixture
def window(models_dir, window):
    """The shared window, with the app's data folder (where training saves) in tmp_path."""
    return window


def test_quitting_during_a_training_can_stop_it_and_keep_the_model(qtbot, window):
    window.set_mode(1)
    train = window.lab_panel.train
    window.lab_panel.tabs.setCurrentWidget(train)
    train.family.setCurrentIndex(train.family.findData(Family.VAE.value))
    train.steps.setValue(200_000)
    train.batch.setValue(16)
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(isinstance(e, Metrics) for e in window.events), timeout=60_000)

    window.close()
    assert window.isVisible()  # asked first
    stop = [b for b in window.quit_box.buttons() if b.text() == "Stop Training and Quit"]
    assert stop, [b.text() for b in window.quit_box.buttons()]
    stop[0].click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    models = [
        e.outcome
        for e in window.events
        if isinstance(e, Finished) and isinstance(e.outcome, ModelOutcome)
    ]
    assert models and models[0].stopped_early and 0 < models[0].step < 200_000
    assert Path(models[0].path).is_file()
