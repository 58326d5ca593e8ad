"""Continue training: the form's progress bar agrees with its Steps box (it showed the
last run's "Step 276/8,000" beside Steps 1,276), and a stopped run continues towards the
steps it was asked for, which the engine now records in the model."""

from __future__ import annotations

from engine.api.events import Progress
from engine.api.kinds import Family
from engine.context import JobControl
from engine.local_engine import LocalCatalogue
from engine.train.determinism import deterministic_cpu
from gui.lab_model_files import record_of
from gui.lab_panel import LabPanel
from tests.test_training import SEED, controlled, train, train_request


def stopped_run(train) -> None:
    """A run of 8,000 steps, stopped at 276: what the bar was left showing."""
    train.started()
    train.progress_event(Progress(1, 276, 8000))
    train.ended("Stopped at step 276; the model is kept.")


def test_continue_training_shows_the_models_steps_against_the_steps_box(qtbot, tmp_path):
    lab = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(lab)
    train = lab.train
    stopped_run(train)
    record = {"family": "gan", "meta": {"dataset": "digits", "steps": 276, "train": {}}}
    train.continue_from(tmp_path / "gan-digits.safetensors", record)
    assert train.steps.value() == 1276
    assert train.progress.text() == "Step 276/1,276 done"
    train.steps.setValue(3000)  # the total to reach, changed: the bar follows
    assert train.progress.text() == "Step 276/3,000 done"
    train.continue_from(None)  # "Train a new model instead"
    assert "276" not in train.progress.text()


def test_a_stopped_run_continues_towards_the_steps_it_was_asked_for(qtbot, tmp_path):
    lab = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(lab)
    stopped_run(lab.train)
    meta = {"dataset": "digits", "steps": 276, "steps_planned": 8000, "train": {}}
    lab.train.continue_from(tmp_path / "gan-digits.safetensors", {"family": "gan", "meta": meta})
    assert lab.train.steps.value() == 8000
    assert lab.train.progress.text() == "Step 276/8,000 done"


def test_a_model_stopped_by_the_engine_continues_towards_its_planned_steps(qtbot, tmp_path):
    model = tmp_path / "vae-digits-mine.safetensors"
    ctx, _events = controlled(4, JobControl.stop)
    with deterministic_cpu(SEED):
        outcome = train(train_request(Family.VAE, model, steps=8), tmp_path, ctx)
    assert outcome.stopped_early and outcome.step == 4
    lab = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(lab)
    lab.train.continue_from(model, record_of(model))  # what Continue training… does
    assert lab.train.steps.value() == 8
    assert lab.train.progress.text() == "Step 4/8 done"
