"""The Latent Lab's Sample and Train tabs, driven with qtbot on the real window and engine:
training with a live plot, samples and progress; pause, stop and continue; rename and
delete; the quality meter; the diffusion controls; the app usable while it trains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from engine.api.events import Finished, Frames, Metrics, Paused, Queued, Resumed
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, ModelOutcome, VectorsOutcome
from engine.api.requests import SampleRequest, ScoreRequest, TrainRequest
from engine.models.common.modelfile import read_model_file
from gui.app import create_main_window
from gui.settings import AppSettings

LAB = 1


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LATENTSTUDIO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "models"


@pytest.fixture
def window(qtbot, tmp_path, trash, models_dir):
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    window = create_main_window(settings)
    window.events = []
    window.client.event.connect(window.events.append)
    qtbot.addWidget(window)
    window.show()
    window.set_mode(LAB)
    yield window
    window.close_now()


def finished(window, kind: type) -> list[Finished]:
    return [e for e in window.events if isinstance(e, Finished) and isinstance(e.outcome, kind)]


def start_training(qtbot, window, family: Family, steps: int, batch: int = 32) -> None:
    lab = window.lab_panel
    lab.tabs.setCurrentWidget(lab.train)
    train = lab.train
    train.family.setCurrentIndex(train.family.findData(family.value))
    train.data.setCurrentIndex(train.data.findData("digits"))
    train.steps.setValue(steps)
    train.batch.setValue(batch)
    qtbot.mouseClick(train.start_button, _left())


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_a_training_plots_its_losses_shows_samples_and_joins_the_picker_with_its_quality(
    qtbot, window, models_dir
):
    start_training(qtbot, window, Family.GAN, steps=120)
    qtbot.waitUntil(lambda: bool(finished(window, ModelOutcome)), timeout=120_000)
    outcome = finished(window, ModelOutcome)[0].outcome
    train = window.lab_panel.train
    # One curve per loss term of the GAN, each with the steps it was measured at.
    for term in ("d_loss", "g_loss", "d_real", "d_fake"):
        steps, values = train.plot.series(term)
        assert steps and steps[-1] == 120 and len(values) == len(steps)
    assert "images_per_s" not in train.plot._points  # throughput is shown, not plotted
    assert any(isinstance(e, Frames) for e in window.events)  # samples as it learned
    assert (train.progress.maximum(), train.progress.value()) == (120, 120)
    assert train.start_button.isEnabled() and not train.stop_button.isEnabled()
    # The new model is picked on the Sample tab, beside the bundled ones.
    lab = window.lab_panel
    assert lab.tabs.currentIndex() == 0
    assert Path(outcome.path).parent == models_dir
    assert lab.model.id == outcome.path and lab.model.family is Family.GAN
    titles = [lab.model_box.itemText(i) for i in range(lab.model_box.count())]
    assert any("(bundled)" in t for t in titles) and any("120 steps" in t for t in titles)
    # The meter measures it at once; the figures are kept beside the model.
    qtbot.waitUntil(lambda: bool(finished(window, VectorsOutcome)), timeout=120_000)
    assert "recognisable" in lab.quality.text() and "classes" in lab.quality.text()
    kept = json.loads(Path(outcome.path).with_suffix(".quality.json").read_text())
    assert 0 <= kept["values"]["recognisable"] <= 1 and kept["samples"] == 500
    # Generate samples the trained model.
    qtbot.mouseClick(lab.generate_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=60_000)
    queued = [e.request for e in window.events if isinstance(e, Queued)]
    assert isinstance(queued[-1], SampleRequest) and queued[-1].model.id == outcome.path


def test_pause_resume_stop_and_continue_a_training_while_the_app_samples(qtbot, window, models_dir):
    start_training(qtbot, window, Family.VAE, steps=200_000)
    train = window.lab_panel.train
    qtbot.waitUntil(lambda: any(isinstance(e, Metrics) for e in window.events), timeout=60_000)
    qtbot.mouseClick(train.pause_button, _left())
    qtbot.waitUntil(lambda: any(isinstance(e, Paused) for e in window.events), timeout=30_000)
    assert train.pause_button.text() == "Resume"
    # The rest of the app works while a training holds the training lane.
    lab = window.lab_panel
    lab.tabs.setCurrentIndex(0)
    lab.refresh_models(select="vae-digits")
    qtbot.mouseClick(lab.generate_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=60_000)
    lab.tabs.setCurrentWidget(train)
    qtbot.mouseClick(train.pause_button, _left())
    qtbot.waitUntil(lambda: any(isinstance(e, Resumed) for e in window.events), timeout=30_000)
    assert train.pause_button.text() == "Pause"
    qtbot.mouseClick(train.stop_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ModelOutcome)), timeout=60_000)
    stopped = finished(window, ModelOutcome)[0].outcome
    assert stopped.stopped_early and 0 < stopped.step < 200_000
    assert f"step {stopped.step:,}" in train.status.text()

    # The stopped model can be continued from the step it reached.
    assert lab.model.id == stopped.path and lab.continue_action.isEnabled()
    lab.continue_action.trigger()
    assert lab.tabs.currentWidget() is train and train.start_button.text() == "Continue training"
    assert not train.family.isEnabled() and train.steps.isEnabled()
    train.steps.setValue(stopped.step + 40)
    window.events.clear()
    qtbot.mouseClick(train.start_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ModelOutcome)), timeout=60_000)
    request = next(e.request for e in window.events if isinstance(e, Queued))
    assert isinstance(request, TrainRequest) and request.resume_from == stopped.path
    continued = finished(window, ModelOutcome)[0].outcome
    assert continued.path == stopped.path and continued.step == stopped.step + 40
    _tensors, record = read_model_file(Path(continued.path), Family.VAE, "")
    assert record["meta"]["steps"] == stopped.step + 40
    assert train.start_button.text() == "Start training"  # the next Start is a new model


def test_a_trained_model_can_be_renamed_and_deleted_but_a_bundled_one_cannot(
    qtbot, window, models_dir, trash, monkeypatch
):
    start_training(qtbot, window, Family.VAE, steps=20)
    qtbot.waitUntil(lambda: bool(finished(window, ModelOutcome)), timeout=60_000)
    lab = window.lab_panel
    path = Path(lab.model.id)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("my sevens", True))
    lab.rename_action.trigger()
    renamed = models_dir / "my sevens.safetensors"
    assert renamed.is_file() and renamed.with_suffix(".json").is_file() and not path.exists()
    assert lab.model.id == str(renamed) and lab.model_box.currentText().startswith("my sevens")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    lab.delete_action.trigger()
    assert not renamed.exists() and not renamed.with_suffix(".json").exists()
    assert sorted(p.name for p in (trash / "files").iterdir()) >= [
        "my sevens.json",
        "my sevens.safetensors",
    ]
    assert all("my sevens" not in lab.model_box.itemText(i) for i in range(lab.model_box.count()))
    lab.refresh_models(select="vae-digits")
    assert not lab.rename_action.isEnabled() and not lab.delete_action.isEnabled()


def test_the_diffusion_controls_show_for_a_ddpm_and_draw_the_chosen_digit(qtbot, window):
    lab = window.lab_panel
    lab.refresh_models(select="vae-digits")
    assert lab.steps.isHidden() and lab.label.isHidden()
    lab.refresh_models(select="ddpm-digits")
    assert not lab.steps.isHidden() and not lab.label.isHidden()
    record = json.loads((Path("resources/models/ddpm-digits.json")).read_text())
    assert lab.guidance.value() == pytest.approx(record["meta"]["default_guidance"])
    assert [lab.label.itemText(i) for i in range(1, 11)] == [str(d) for d in range(10)]
    lab.label.setCurrentIndex(lab.label.findData(7))
    lab.steps.setValue(10)
    lab.count.setValue(4)
    lab.seed.set_seed(11)
    qtbot.mouseClick(lab.generate_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=60_000)
    request = next(e.request for e in window.events if isinstance(e, Queued))
    assert (request.label, request.steps, request.seed, request.count) == (7, 10, 11, 4)
    assert request.guidance == pytest.approx(record["meta"]["default_guidance"])


def test_measure_quality_of_a_bundled_model_shows_its_figures(qtbot, window):
    kept = Path("resources/models/vae-digits.quality.json")
    before = kept.stat().st_mtime_ns if kept.exists() else None
    lab = window.lab_panel
    lab.refresh_models(select="vae-digits")
    lab._score()
    qtbot.waitUntil(lambda: bool(finished(window, VectorsOutcome)), timeout=120_000)
    request = next(e.request for e in window.events if isinstance(e, Queued))
    assert isinstance(request, ScoreRequest) and request.model.id == "vae-digits"
    text = lab.quality.text()
    assert "recognisable" in text and "held-out −ELBO" in text
    # The app never writes into its own bundled resources.
    assert (kept.stat().st_mtime_ns if kept.exists() else None) == before


# ---------------------------------------------------------------- Explore


def _select(lab, model: str) -> None:
    lab.tabs.setCurrentIndex(0)
    lab.refresh_models(select=model)
    assert lab.model.id == model


def test_explore_interpolates_plays_and_exports_an_animation(qtbot, window, tmp_path):
    from PIL import Image

    lab = window.lab_panel
    _select(lab, "gan-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    explore = lab.explore
    assert explore.run_button.text() == "Interpolate"
    explore.from_seed.set_seed(3)
    explore.to_seed.set_seed(9)
    explore.frames.setValue(6)
    qtbot.mouseClick(explore.run_button, _left())
    qtbot.waitUntil(lambda: len(explore.clips) == 6, timeout=60_000)
    assert explore.play_button.isChecked() and explore.preview.pixmap() is not None
    shown = explore._shown
    qtbot.waitUntil(lambda: explore._shown != shown, timeout=5_000)  # it plays
    [done] = finished(window, ImagesOutcome)
    strip = done.outcome.images[0]
    assert strip.rgb.shape[0] == 32 and strip.info["ts"][0] == 0.0  # one strip in the gallery
    gif = tmp_path / "walk.gif"
    assert explore.export_to(str(gif)) == ""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    problem = explore.export_to(str(blocked / "walk.webp"))
    assert "could not be written" in problem and "Choose a folder" in problem
    with Image.open(gif) as animation:
        assert animation.n_frames == 6
    # the details read the strip back, and Use these parameters fills Explore again
    meta = window.client.gallery.metadata(Path(strip.path))
    explore.frames.setValue(2)
    window.use_parameters(meta)
    assert lab.tabs.currentWidget() is explore and explore.frames.value() == 6


def test_explore_runs_a_ddpms_reverse_process(qtbot, window):
    lab = window.lab_panel
    _select(lab, "ddpm-digits")
    lab.tabs.setCurrentWidget(lab.explore)
    explore = lab.explore
    assert explore.run_button.text() == "Run the reverse process"
    assert not explore.play_button.isVisible()
    explore.steps.setValue(6)  # fewer steps than filmstrip columns: every step is shown
    qtbot.mouseClick(explore.run_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=60_000)
    strip, final = finished(window, ImagesOutcome)[0].outcome.images
    assert strip.info["filmstrip_steps"] == [1, 2, 3, 4, 5, 6]
    assert final.rgb.shape == (8, 8, 3)
