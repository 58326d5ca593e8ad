"""What looked broken to a new user in their first hour, driven through the real window.

One test per item of the report (issue 7), each against the real engine and widgets.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
from PySide6.QtWidgets import QMessageBox
from safetensors.torch import save_file

from engine.api.events import Cancelled, Finished, Preview, Started
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.store import read_metadata
from tests.opened import wait_described, wait_opened
from tests.sd_original_layout import save_single_file, tiny_pipeline

DIGITS = ModelRef(Family.VAE, "vae-digits")


def finished_jobs(window) -> list[Finished]:
    return [e for e in window.events if isinstance(e, Finished)]


def generate_and_wait(qtbot, window, timeout=60_000) -> Finished:
    count = len(finished_jobs(window))
    job = window.generate()
    assert job is not None, window.last_error
    qtbot.waitUntil(lambda: len(finished_jobs(window)) > count, timeout=timeout)
    wait_described(qtbot, window)  # its file's details are read off the GUI thread
    return finished_jobs(window)[-1]


def use_tiny_model(window, settings, model: Path, steps: int = 3) -> None:
    settings.models_dirs = [model.parent]
    listed = QEventLoop()  # the model folders are listed on a thread
    window.create_panel.models_listed.connect(listed.quit)
    window.apply_settings()
    QTimer.singleShot(30_000, listed.quit)
    listed.exec()
    window.set_mode(0)
    panel = window.create_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(steps)


# 1 ---------------------------------------------------------------- Reuse


def test_create_reuse_turns_on_with_the_create_seed_and_the_lab_is_left_alone(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model)
    assert not window.create_panel.seed.reuse_button.isEnabled()
    window.create_panel.seed.set_seed(777)
    generate_and_wait(qtbot, window)
    assert window.create_panel.seed.reuse_button.isEnabled()
    window.create_panel.seed.set_seed(None)
    window.create_panel.seed.reuse_button.click()
    assert window.create_panel.seed.edit.text() == "777"
    assert not window.lab_panel.seed.reuse_button.isEnabled()


# 2 ---------------------------------------------------------------- canvas


def test_double_click_toggles_one_to_one_and_back_to_fit(qtbot, window):
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    assert canvas.fitted
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert not canvas.fitted and canvas.scale() == 1.0 and canvas.zoom_text() == "100%"
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert canvas.fitted and canvas.zoom_text().startswith("Fit · ")


def test_a_click_does_not_stop_later_results_from_being_fitted(qtbot, window):
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert canvas.fitted
    canvas.set_zoom(3.0)  # the user zoomed on purpose…
    generate_and_wait(qtbot, window)
    assert canvas.fitted  # …but a new result is shown whole
    width = canvas.width()
    scale = canvas.scale()
    window.resize(window.width() - 200, window.height())
    qtbot.waitUntil(lambda: canvas.width() < width)
    assert canvas.fitted and canvas.scale() != scale  # resizing re-fits


def test_a_drag_pans_and_keeps_the_zoom(qtbot, window):
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    before = canvas.image_rect()
    centre = canvas.rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(40, 10))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(40, 10))
    assert not canvas.fitted and canvas.image_rect().x() > before.x()


# 3 ---------------------------------------------------------------- honest progress


def test_progress_says_loading_then_step_one_with_a_busy_bar(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model, steps=6)
    texts: list[tuple[str, int]] = []
    status = window.status

    def record(_state):
        texts.append((status.progress_label.text(), status.progress.maximum()))

    window.jobs.changed.connect(record)
    generate_and_wait(qtbot, window)
    shown = [t for t, _ in texts]
    assert "Loading model…" in shown[0] or shown[0] == "Starting…"
    first_step = next(i for i, t in enumerate(shown) if t.startswith("Step"))
    assert shown[first_step].startswith("Step 1/6")
    assert texts[first_step][1] == 0  # busy until step 1 is done
    assert any(t.startswith("Step 6/6") for t in shown)
    assert not any(t.startswith("Step 7") for t in shown)


def test_the_eta_counts_down_between_two_steps():
    import time

    from gui.viewmodels.jobs import JobState, progress_text

    state = JobState(
        1,
        SampleRequest(model=DIGITS),
        lane=None,
        step=2,
        total=10,
        eta_s=30.0,
        it_per_s=0.3,
        updated_at=time.monotonic(),
    )
    now = state.updated_at
    assert progress_text(state, now).endswith("ETA 0:30")
    assert progress_text(state, now + 12).endswith("ETA 0:18")
    assert progress_text(state, now).startswith("Step 3/10")


# 4 ---------------------------------------------------------------- after a cancel


def test_a_cancelled_preview_is_marked_as_not_a_result(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model, steps=500)
    window.generate()
    qtbot.waitUntil(lambda: any(isinstance(e, Preview) for e in window.events), timeout=60_000)
    window.controls.cancel_running()
    qtbot.waitUntil(lambda: any(isinstance(e, Cancelled) for e in window.events), timeout=60_000)
    assert window.canvas.banner.startswith("Cancelled at step")
    assert "not saved" in window.canvas.banner
    assert not window.save_as_action.isEnabled()
    window.set_mode(1)
    generate_and_wait(qtbot, window)
    assert window.canvas.banner == ""


# 5 ---------------------------------------------------------------- quitting


def test_quitting_with_jobs_running_asks_first(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model, steps=500)
    window.generate()
    qtbot.waitUntil(lambda: any(isinstance(e, Started) for e in window.events), timeout=60_000)
    window.close()
    assert window.isVisible()  # not closed: asked
    box = window.quit_box
    assert "1 job(s) running" in box.text()
    labels = [b.text() for b in box.buttons()]
    assert "Quit Anyway" in labels and "Quit When Done" in labels
    next(b for b in box.buttons() if b.text() == "Cancel").click()
    assert window.isVisible() and window.client.running_job_ids()
    window.close()
    next(b for b in window.quit_box.buttons() if b.text() == "Quit Anyway").click()
    qtbot.waitUntil(lambda: not window.isVisible())


def test_quit_when_done_waits_for_the_jobs(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model, steps=30)
    window.generate()
    qtbot.waitUntil(lambda: any(isinstance(e, Started) for e in window.events), timeout=60_000)
    window.close()
    next(b for b in window.quit_box.buttons() if b.text() == "Quit When Done").click()
    assert window.isVisible()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert finished_jobs(window)  # it finished before the window went


# 6 ---------------------------------------------------------------- Save Image As


def test_save_as_is_off_with_nothing_to_save_and_suggests_the_images_own_name(qtbot, window):
    assert not window.save_as_action.isEnabled()
    window.set_mode(1)
    window.lab_panel.seed.set_seed(42)
    finished = generate_and_wait(qtbot, window)
    assert window.save_as_action.isEnabled()
    assert window.files.suggested_file_name() == Path(finished.outcome.images[0].path).name


def test_unsaved_images_survive_later_jobs_until_saved(qtbot, window, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    settings.output_dir = blocker / "out"
    window.apply_settings()
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    window.lab_panel.seed.set_seed(5)
    first = generate_and_wait(qtbot, window)
    window.lab_panel.seed.set_seed(6)
    generate_and_wait(qtbot, window)
    generate_and_wait(qtbot, window)
    assert [u.image.seed for u in window.results.unsaved] == [5, 6, 6]
    assert first.outcome.images[0].png_text


# 7 ---------------------------------------------------------------- delete, undo


def test_delete_clears_the_canvas_and_can_be_undone(qtbot, window, trash):
    window.set_mode(1)
    made = generate_and_wait(qtbot, window).outcome.images[0].path
    window.set_mode(2)
    panel = window.gallery_panel
    assert panel.select_path(made)
    wait_opened(qtbot, window, made)  # the canvas follows the selection
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    assert not Path(made).exists() and window.canvas.image is None
    assert window.undo_button.isVisible() and window.undo_action.isEnabled()
    window.undo_action.trigger()
    assert Path(made).is_file()
    # listed again off the GUI thread; the restored picture is selected when it comes
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1 and panel.current_path() == made)
    assert read_metadata(Path(made)).seed is not None
    assert not list((trash / "files").iterdir())


# 8 ---------------------------------------------------------------- files from outside


def test_images_added_from_outside_appear_without_a_restart(qtbot, window, settings):
    import shutil

    window.set_mode(1)
    made = Path(generate_and_wait(qtbot, window).outcome.images[0].path)
    window.set_mode(2)
    qtbot.waitUntil(lambda: not window.gallery_panel.syncer.running)
    copied = settings.output_dir / "from-another-tool" / "copied.png"
    copied.parent.mkdir()
    shutil.copy(made, copied)
    qtbot.waitUntil(
        lambda: window.gallery_panel.model.row_of(str(copied)) is not None, timeout=10_000
    )


def test_rescan_finds_what_the_watcher_did_not(qtbot, window, settings):
    import shutil

    window.set_mode(1)
    made = Path(generate_and_wait(qtbot, window).outcome.images[0].path)
    window.gallery_panel.watcher.blockSignals(True)
    shutil.copy(made, settings.output_dir / "dropped.png")
    window.gallery_panel.rescan_action.trigger()
    qtbot.waitUntil(
        lambda: (
            window.gallery_panel.model.row_of(str(settings.output_dir / "dropped.png")) is not None
        ),
        timeout=10_000,
    )


# 12 ---------------------------------------------------------------- sizes


def test_both_odd_sizes_are_named_and_the_fix_generates(qtbot, window, settings, tiny_sd_model):
    use_tiny_model(window, settings, tiny_sd_model)
    window.create_panel.width_box.setValue(60)
    window.create_panel.height_box.setValue(70)
    assert window.generate() is None
    assert "width 60 and height 70 are not" in window.last_error and "64 × 72" in window.last_error
    box = next(w for w in window.findChildren(QMessageBox) if w.isVisible())
    next(b for b in box.buttons() if b.text() == "Use nearest size and generate").click()
    qtbot.waitUntil(lambda: bool(finished_jobs(window)), timeout=60_000)
    assert (window.create_panel.width_box.value(), window.create_panel.height_box.value()) == (
        64,
        72,
    )
    assert finished_jobs(window)[-1].outcome.images[0].rgb.shape == (72, 64, 3)


# 14 ---------------------------------------------------------------- layout


def test_queue_rows_tell_jobs_apart_and_the_lab_says_sample_not_samples(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model)
    window.create_panel.prompt.setPlainText(
        "a watercolor fox in a misty forest, early morning light"
    )
    window.create_panel.seed.set_seed(11)
    generate_and_wait(qtbot, window)
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    generate_and_wait(qtbot, window)
    tree = window.queue_dock.tree
    sd_row, lab_row = tree.topLevelItem(0), tree.topLevelItem(1)
    assert "seed 11" in sd_row.text(0) and "64×64" in sd_row.text(0)
    assert "early morning light" in sd_row.toolTip(0)
    assert "1 sample ·" in lab_row.text(0)


def test_the_canvas_hint_wraps_at_the_smallest_window(qtbot, window):
    window.resize(window.minimumSizeHint())
    canvas = window.canvas
    metrics = canvas.fontMetrics()
    assert (
        metrics.horizontalAdvance(canvas.placeholder) > canvas.width() - 24 or canvas.width() > 400
    )
    # Word-wrapped drawing: every word fits on some line (no "enerate (Ctrl+Enter)…").
    assert (
        max(metrics.horizontalAdvance(word) for word in canvas.placeholder.split()) < canvas.width()
    )


def test_a_vae_and_the_prediction_are_chosen_per_model_and_remembered(
    qtbot, window, settings, tmp_path
):
    from tests.sd_original_layout import vae_to_original

    folder = tmp_path / "models"
    (folder / "VAE").mkdir(parents=True)
    first, second = tiny_pipeline("sd1", seed=1), tiny_pipeline("sd1", seed=2)
    save_single_file(first, folder / "first.safetensors")
    save_single_file(second, folder / "second.safetensors")
    state = vae_to_original(second.vae.state_dict(), second.vae.config)
    save_file(
        {k: v.contiguous() for k, v in state.items()}, str(folder / "VAE" / "clear.safetensors")
    )
    settings.models_dirs = [folder]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    panel = window.create_panel
    assert [panel.vae_box.itemText(i) for i in range(panel.vae_box.count())][0] == "The model's own"
    panel.select_model(str(folder / "first.safetensors"))
    panel.vae_box.setCurrentIndex(panel.vae_box.findData(str(folder / "VAE" / "clear.safetensors")))
    assert panel.build_request().vae == str(folder / "VAE" / "clear.safetensors")
    panel.select_model(str(folder / "second.safetensors"))
    assert panel.build_request().vae == ""
    panel.select_model(str(folder / "first.safetensors"))
    assert panel.vae_box.currentText().startswith("clear · ")
    restored = type(panel)()
    restored.restore(panel.state())
    assert restored.vm.model_settings[str(folder / "first.safetensors")]["vae"] == str(
        folder / "VAE" / "clear.safetensors"
    )
    panel.prediction_box.setCurrentIndex(panel.prediction_box.findData("v"))
    assert panel.build_request().prediction == "v"
    panel.select_model(str(folder / "second.safetensors"))
    assert panel.build_request().prediction == ""


def test_a_variation_is_asked_for_and_read_back_from_a1111_text(qtbot, window):
    panel = window.create_panel
    assert panel.build_request().variation_strength == 0.0
    panel.variation_strength.setValue(0.3)
    panel.variation_seed.set_seed(77)
    request = panel.build_request()
    assert (request.variation_seed, request.variation_strength) == (77, 0.3)
    panel.variation_strength.setValue(0.0)
    panel.apply_parameters({"prompt": "x", "variation_seed": 12, "variation_seed_strength": 0.25})
    assert panel.build_request().variation_seed == 12
