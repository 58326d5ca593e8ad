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
from engine.api.outcomes import FramesOutcome, ImagesOutcome, ModelOutcome, VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest, ScoreRequest, TrainRequest
from engine.api.sample_options import LatentSampleOptions
from engine.models.common.modelfile import read_model_file
from gui.explore import Tool

LAB = 1


@pytest.fixture
def window(models_dir, window):
    window.set_mode(LAB)
    return window


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
    assert (request.options.label, request.options.steps) == (7, 10)
    assert (request.seed, request.count) == (11, 4)
    assert request.options.guidance == pytest.approx(record["meta"]["default_guidance"])


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
    lab.explore.select_tool(Tool.WALK)
    explore, player = lab.explore.walk, lab.explore.walk.player
    assert lab.explore.run_button.text() == "Interpolate"
    explore.from_seed.set_seed(3)
    explore.to_seed.set_seed(9)
    explore.frames.setValue(6)
    qtbot.mouseClick(lab.explore.run_button, _left())
    qtbot.waitUntil(lambda: len(player.clips) == 6, timeout=60_000)
    assert player.play_button.isChecked() and player.preview.pixmap() is not None
    shown = player._shown
    qtbot.waitUntil(lambda: player._shown != shown, timeout=5_000)  # it plays
    [done] = finished(window, ImagesOutcome)
    strip = done.outcome.images[0]
    # The sliders (the first tool) asked for their axes when Explore opened; their answer,
    # arriving later, must not put a slider frame over the strip on the canvas.
    qtbot.waitUntil(lambda: not window.jobs.active(), timeout=60_000)
    assert window.results.shown.outcome is done.outcome
    assert strip.rgb.shape[0] == 32 and strip.info["ts"][0] == 0.0  # one strip in the gallery
    gif = tmp_path / "walk.gif"
    assert player.export_to(str(gif)) == ""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    problem = player.export_to(str(blocked / "walk.webp"))
    assert "could not be written" in problem and "Choose a folder" in problem
    with Image.open(gif) as animation:
        assert animation.n_frames == 6
    # the details read the strip back, and Use these parameters fills Explore again
    meta = window.client.gallery.metadata(Path(strip.path))
    explore.frames.setValue(2)
    window.use_parameters(meta)
    assert lab.tabs.currentWidget() is lab.explore and lab.explore.page is explore
    assert explore.frames.value() == 6


def test_a_walk_can_start_at_a_kept_picture_of_the_same_model(qtbot, window):
    lab = window.lab_panel
    _select(lab, "gan-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    lab.explore.select_tool(Tool.WALK)
    walk = lab.explore.walk
    code = (0.25,) * 64
    pictures = {
        "kept": SampleRequest(
            model=lab.model, seed=5, count=1, options=LatentSampleOptions(latent=code)
        ),
        "other": SampleRequest(model=ModelRef(Family.VAE, "vae-shapes"), seed=5, count=1),
        "sheet": SampleRequest(model=lab.model, seed=5, count=4, grid=True),
    }
    for request in pictures.values():
        window.lab_panel.send(request)
    qtbot.waitUntil(lambda: len(finished(window, ImagesOutcome)) == 3, timeout=60_000)
    saved = {}  # which picture is which, by the request its recipe holds
    for event in finished(window, ImagesOutcome):
        path = event.outcome.images[0].path
        request = window.client.gallery.metadata(Path(path)).request
        saved[next(k for k, r in pictures.items() if r == request)] = path
    kept, other, sheet = saved["kept"], saved["other"], saved["sheet"]
    assert "drawn by vae-shapes" in walk.use_kept("from", other)
    assert "sheet of 4 samples" in walk.use_kept("from", sheet)
    assert walk.use_kept("from", kept) == ""
    walk.to_seed.set_seed(9)
    request = lab.explore.build_request(lab.model)
    assert request.from_latent == code and request.to_latent is None
    assert request.describe().startswith("gan-shapes · a kept code → seed 9")
    walk.from_seed.edit.setText("12")
    walk.from_seed.edit.textEdited.emit("12")  # typing a seed: that end is a seed again
    assert lab.explore.build_request(lab.model).from_latent is None


def test_a_flows_walk_joins_two_image_files_and_a_gans_offers_no_image_ends(
    qtbot, window, tmp_path
):
    from PIL import Image

    lab = window.lab_panel
    _select(lab, "gan-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    lab.explore.select_tool(Tool.WALK)
    walk = lab.explore.walk
    assert not walk.image_buttons["from"].isVisible()  # a GAN has no encoder
    _select(lab, "realnvp-digits")
    lab.tabs.setCurrentWidget(lab.explore)
    assert walk.image_buttons["from"].isVisible() and walk.image_buttons["to"].isVisible()
    ends = []
    for name, value in (("dark.png", 0), ("light.png", 255)):
        Image.new("L", (8, 8), value).save(tmp_path / name)
        ends.append(str(tmp_path / name))
    walk._use_image("from", ends[0])
    walk._use_image("to", ends[1])
    assert walk.image_buttons["from"].text() == "Image ✓"
    walk.frames.setValue(3)
    request = lab.explore.build_request(lab.model)
    assert (request.from_image.path, request.to_image.path) == tuple(ends)
    assert request.describe() == "realnvp-digits · dark.png → light.png · 3 frames · slerp"
    qtbot.mouseClick(lab.explore.run_button, _left())
    qtbot.waitUntil(lambda: len(walk.player.clips) == 3, timeout=60_000)
    [done] = finished(window, ImagesOutcome)
    strip = done.outcome.images[0].rgb  # 3 frames of 8 pixels, side by side
    assert (strip[:, :8] == 0).all() and (strip[:, -8:] == 255).all()  # the files, exactly
    walk.to_seed.edit.setText("4")
    walk.to_seed.edit.textEdited.emit("4")  # typing a seed: that end is a seed again
    assert lab.explore.build_request(lab.model).to_image is None
    assert walk.image_buttons["to"].text() == "Image…"


def test_explore_runs_a_ddpms_reverse_process(qtbot, window):
    lab = window.lab_panel
    _select(lab, "ddpm-digits")
    lab.tabs.setCurrentWidget(lab.explore)
    explore = lab.explore.reverse
    assert lab.explore.page is explore  # a DDPM's first tool
    assert lab.explore.run_button.text() == "Run the reverse process"
    assert [lab.explore.tool.itemText(i) for i in range(lab.explore.tool.count())] == [
        "Reverse process",
        "Forward process",
    ]
    explore.steps.setValue(6)  # fewer steps than filmstrip columns: every step is shown
    qtbot.mouseClick(lab.explore.run_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=60_000)
    strip, final = finished(window, ImagesOutcome)[0].outcome.images
    assert strip.info["filmstrip_steps"] == [1, 2, 3, 4, 5, 6]
    assert final.rgb.shape == (8, 8, 3)
    # the player animates x_t beside x̂_0, one frame per filmstrip column
    assert len(explore.player.clips) == 6 and explore.player.clips[0].shape[0] == 8


# ---------------------------------------------------------------- Explore's live tools


def _decoded(window) -> list[Finished]:
    return [
        e for e in window.events if isinstance(e, Finished) and isinstance(e.outcome, FramesOutcome)
    ]


def _canvas_pixels(window):
    import numpy as np

    image = window.canvas.image.convertToFormat(window.canvas.image.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3)


def test_latent_sliders_redraw_keep_and_reopen_a_code(qtbot, window):
    import numpy as np

    lab = window.lab_panel
    _select(lab, "gan-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    sliders = lab.explore.sliders
    assert lab.explore.page is sliders and not lab.explore.run_button.isVisible()
    qtbot.waitUntil(
        lambda: len(sliders._rows) == 16 and sliders.keep_button.isEnabled(), timeout=60_000
    )
    qtbot.waitUntil(lambda: bool(_decoded(window)), timeout=30_000)
    first = _decoded(window)[-1].outcome.frames[0]
    # The first eight are shown, the rest behind More; on shapes, each names what it moves.
    assert [not row[1].isHidden() for row in sliders._rows] == [True] * 8 + [False] * 8
    assert sliders.more_button.text() == "More (8)"
    assert ":" in sliders._rows[0][0].text()  # "PC 1: x, kind"
    qtbot.mouseClick(sliders.more_button, _left())
    assert not sliders._rows[15][1].isHidden()

    # A drag: many positions, fewer frames (a newer position replaces a waiting one), and
    # the canvas ends on the last position's picture.
    before = len(_decoded(window))
    for value in range(0, 301, 10):
        sliders._rows[0][1].setValue(value)
    final_code = sliders.code()
    qtbot.waitUntil(
        lambda: (
            _decoded(window)
            and _decoded(window)[-1].outcome is window.results.shown.outcome
            and window.jobs.active() == []
        ),
        timeout=30_000,
    )
    frames = len(_decoded(window)) - before
    assert 1 <= frames <= 31
    last = _decoded(window)[-1].outcome.frames[0]
    assert not np.array_equal(last, first)
    assert np.array_equal(_canvas_pixels(window), last)
    assert sliders._rows[0][2].text() == "+3.00"

    # Keep saves exactly that picture; its recipe holds the code.
    qtbot.mouseClick(sliders.keep_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=30_000)
    kept = finished(window, ImagesOutcome)[-1].outcome.images[0]
    assert np.array_equal(kept.rgb, last)
    meta = window.client.gallery.metadata(Path(kept.path))
    assert meta.request.latent == tuple(float(v) for v in final_code)

    # Reset goes back to the seed's own sample; Lock seed + Randomise keeps the seed.
    qtbot.mouseClick(sliders.reset_button, _left())
    assert all(row[1].value() == 0 for row in sliders._rows)
    seed = sliders.seed
    sliders.lock_seed.setChecked(True)
    qtbot.mouseClick(sliders.randomise_button, _left())
    assert sliders.seed == seed and any(row[1].value() != 0 for row in sliders._rows)

    # A typed seed: the sliders start again from that seed's code, at 0.
    sliders.seed_edit.setText("77")
    sliders.seed_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: sliders.seed == 77 and sliders.keep_button.isEnabled(), timeout=30_000)
    assert all(row[1].value() == 0 for row in sliders._rows)

    # Use these parameters on the kept picture: the sliders start from its exact code.
    window.use_parameters(meta)
    assert lab.explore.page is sliders
    assert np.array_equal(sliders.code(), np.asarray(final_code, np.float32))


def test_arithmetic_takes_operands_from_the_sample_sheet(qtbot, window):
    lab = window.lab_panel
    _select(lab, "vae-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    lab.explore.select_tool(Tool.ARITHMETIC)
    page = lab.explore.arithmetic
    assert not page.take_buttons["A"].isEnabled()
    lab.select_sample(SampleRequest(model=lab.model, seed=42, count=1))
    qtbot.mouseClick(page.take_buttons["A"], _left())
    page.operands["B"].set_seed(7)
    page.operands["C"].set_seed(8)
    assert page.operands["A"].resolve() == 42
    qtbot.mouseClick(lab.explore.run_button, _left())
    qtbot.waitUntil(lambda: bool(finished(window, ImagesOutcome)), timeout=60_000)
    strip = finished(window, ImagesOutcome)[-1].outcome.images[0]
    assert strip.info["operands"] == ["A", "B", "C", "A − B + C"]
    assert strip.info["seeds"][:3] == [42, 7, 8] and strip.path


def test_reconstruction_shows_the_map_and_says_how_the_image_was_fitted(qtbot, window, tmp_path):
    from PIL import Image

    lab = window.lab_panel
    _select(lab, "vae-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    lab.explore.select_tool(Tool.RECONSTRUCT)
    page = lab.explore.reconstruct
    qtbot.mouseClick(lab.explore.run_button, _left())  # no image yet: a sentence, no job
    assert "Choose an image" in window.last_error
    path = tmp_path / "photo.png"
    Image.new("RGB", (120, 80), (200, 40, 40)).save(path)
    page.set_image(str(path))
    qtbot.mouseClick(lab.explore.run_button, _left())
    qtbot.waitUntil(
        lambda: page.map.pixmap() is not None and not page.map.pixmap().isNull(), timeout=60_000
    )
    assert "resized from 120×80 to 32×32" in page.note.text()
    strip, _map = finished(window, ImagesOutcome)[-1].outcome.images
    assert strip.rgb.shape[1] > 3 * 32  # input, reconstruction, error


def test_the_forward_process_scrubs_with_the_schedule_plotted(qtbot, window):
    lab = window.lab_panel
    _select(lab, "ddpm-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    lab.explore.select_tool(Tool.FORWARD)
    page = lab.explore.forward
    assert not lab.explore.run_button.isVisible()
    qtbot.waitUntil(lambda: len(page.alpha_bar) == 1000 and page._plot is not None, timeout=60_000)
    assert page.t.maximum() == 1000
    page.t.setValue(500)
    qtbot.waitUntil(lambda: page.t_label.text().startswith("t = 500"), timeout=30_000)
    assert page._marker.value() == 500
    assert "ᾱ_t = " in page.t_label.text()


def test_the_empty_canvas_says_what_generate_does_in_each_mode(window):
    """The shared canvas's words follow the mode: the Lab samples, Create makes."""
    assert "sample the chosen model" in window.canvas.placeholder
    assert "Train tab" in window.canvas.placeholder
    window.set_mode(0)  # Create
    assert window.canvas.placeholder == "Press Generate (Ctrl+Enter) to make an image."
    window.set_mode(LAB)
    assert "sample the chosen model" in window.canvas.placeholder
