"""The Train tab's Sweep row: the settings a family may sweep, a live count of the runs
as the range is typed (or the sentence that refuses it), and Start queueing one
training per value on the real window, each model listed as its run finishes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.api.events import Finished, Metrics, Progress
from engine.api.outcomes import ModelOutcome
from engine.handle import JobHandle
from engine.local_engine import LocalCatalogue
from gui.train_panel import TrainPanel
from gui.train_sweep import follow_newest_run

LAB = 1


@pytest.fixture
def window(models_dir, window):
    """The real window, with a models folder of the test's own."""
    return window


def panel_for(qtbot, family: str) -> TrainPanel:
    panel = TrainPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.family.setCurrentIndex(panel.family.findData(family))
    return panel


def offered(panel: TrainPanel) -> list[str]:
    box = panel.sweep.setting
    return [box.itemText(i) for i in range(box.count())]


def test_the_count_of_runs_follows_the_range_as_it_is_typed(qtbot):
    panel = panel_for(qtbot, "gmm")
    sweep = panel.sweep
    assert offered(panel) == ["steps", "seed", "components", "rank", "reg_covar"]
    assert not sweep.active and sweep.count.isHidden()
    sweep.enabled.setChecked(True)
    sweep.setting.setCurrentIndex(sweep.setting.findText("components"))
    qtbot.keyClicks(sweep.range, "2-6")
    assert sweep.count.text() == "5 runs: 2, 3, 4, 5, 6"
    qtbot.keyClicks(sweep.range, " (+2)")
    assert sweep.count.text() == "3 runs: 2, 4, 6"
    assert panel.start_button.text() == "Start sweep (3 runs)"
    sweep.range.setText("2-x")
    assert "'2-x' is not a whole number or a range" in sweep.count.text()
    assert panel.start_button.text() == "Start training"
    sweep.range.setText("1-100 [8]")
    assert sweep.count.text() == "8 runs: 1, 15, 29, 43, 57, 71, …"
    sweep.range.setText("0-3")
    assert "is 1 to 1000, not 0" in sweep.count.text()
    # A VAE's own settings are not declared as data: the generic ones, batch and lr too.
    panel.family.setCurrentIndex(panel.family.findData("vae"))
    assert offered(panel) == ["steps", "batch", "lr", "seed"]
    sweep.setting.setCurrentIndex(sweep.setting.findText("lr"))
    sweep.range.setText("0.001-0.002 [3]")
    assert sweep.count.text() == "3 runs: 0.001, 0.0015, 0.002"
    sweep.enabled.setChecked(False)
    assert panel.start_button.text() == "Start training"


def test_a_sweep_started_on_the_train_tab_trains_once_per_value(qtbot, window, models_dir):
    window.set_mode(LAB)
    lab = window.lab_panel
    lab.tabs.setCurrentWidget(lab.train)
    train = lab.train
    train.family.setCurrentIndex(train.family.findData("gmm"))
    train.steps.setValue(2)
    train.sweep.enabled.setChecked(True)
    train.sweep.setting.setCurrentIndex(train.sweep.setting.findText("components"))
    train.sweep.range.setText("2, 3")
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)

    def trained() -> list[ModelOutcome]:
        return [
            e.outcome
            for e in window.events
            if isinstance(e, Finished) and isinstance(e.outcome, ModelOutcome)
        ]

    qtbot.waitUntil(lambda: train.status.text().startswith("Sweep done"), timeout=60_000)
    paths = [Path(outcome.path) for outcome in trained()]
    assert [p.name.rsplit("-", 2)[1:] for p in paths] == [
        ["components", "2.safetensors"],
        ["components", "3.safetensors"],
    ]
    assert all(p.parent == models_dir and p.is_file() for p in paths)
    listed = [lab.model_box.itemData(i) for i in range(lab.model_box.count())]
    assert all(any(str(p) in str(item) for item in listed) for p in paths)
    assert train.status.text().startswith("Sweep done: 2 of 2 runs trained.")
    assert train.start_button.isEnabled()
    # The sweep is still set: Start still says it would run it again, not one training.
    assert train.start_button.text() == "Start sweep (2 runs)"


def test_the_train_tab_draws_the_newest_started_run_of_a_sweep(qtbot, window):
    """On a cluster two runs train at once: their losses are not mixed in one plot; the
    run that started last is drawn from its first step, the older one is not."""
    train = window.lab_panel.train
    older, newer = JobHandle(window.client, 901), JobHandle(window.client, 902)
    follow_newest_run(window.lab_panel, [older, newer])
    older.started.emit()
    older.metrics.emit(Metrics(901, 1, {"loss": 5.0}))
    assert "loss 5" in train.status.text()
    newer.started.emit()
    older.metrics.emit(Metrics(901, 2, {"loss": 7.0}))  # still training elsewhere: not drawn
    assert "loss 7" not in train.status.text()
    newer.metrics.emit(Metrics(902, 1, {"loss": 3.0}))
    assert "loss 3" in train.status.text()
    newer.progress.emit(Progress(902, 1, 10))
    older.progress.emit(Progress(901, 9, 10))
    assert train.progress.format() == "Step 1/10"
