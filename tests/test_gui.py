"""The real main window, driven with qtbot, with the real engine client and runtime."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt

from engine.api import limits
from engine.api.events import (
    Cancelled,
    DeviceInfo,
    Finished,
    Preview,
    Progress,
    Queued,
    Started,
)
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import SampleRequest, Txt2ImgRequest
from engine.store import StoreError, read_metadata
from gui.app import create_main_window
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from tests.opened import wait_opened

DIGITS = ModelRef(Family.VAE, "vae-digits")


def wait_for(qtbot, window, kind, timeout=60_000):
    qtbot.waitUntil(lambda: any(isinstance(e, kind) for e in window.events), timeout=timeout)
    return next(e for e in window.events if isinstance(e, kind))


def ctrl_enter(qtbot, widget):
    qtbot.keyClick(widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_latent_lab_generate_keeps_one_sheet_in_the_gallery(qtbot, window, settings):
    window.set_mode(1)
    window.lab_panel.seed.set_seed(1234)
    window.lab_panel.count.setValue(4)
    ctrl_enter(qtbot, window.lab_panel.count)
    finished = wait_for(qtbot, window, Finished)
    queued = next(e for e in window.events if isinstance(e, Queued))
    assert queued.request == SampleRequest(model=DIGITS, seed=1234, count=4, grid=True)
    [sheet] = finished.outcome.images  # one image in the gallery, not four
    meta = read_metadata(Path(sheet.path))
    assert meta.request == queued.request and meta.recipe["seeds"] == [1234, 1235, 1236, 1237]
    assert Path(sheet.path).is_relative_to(settings.output_dir)
    assert window.canvas.image is not None and window.canvas.image.width() > 8
    window.set_mode(2)  # listed off the GUI thread: the answer comes
    qtbot.waitUntil(lambda: window.gallery_panel.model.rowCount() == 1)
    assert window.lab_panel.seed.last_seed == 1234 and window.create_panel.seed.last_seed is None


def test_status_bar_names_the_device_the_engine_found(qtbot, window):
    import torch  # the test's own look at the machine, not the app's

    info = wait_for(qtbot, window, DeviceInfo)
    if torch.cuda.is_available():
        assert info.device == "cuda" and info.description.startswith("CUDA · ")
        assert info.description.endswith("fp16")
    else:
        assert (info.device, info.description) == ("cpu", "CPU · fp32")
    qtbot.waitUntil(lambda: window.status.device_label.text() == info.description)


def test_a_device_change_shows_in_the_status_bar_at_once(qtbot, window, settings):
    wait_for(qtbot, window, DeviceInfo)
    count = len([e for e in window.events if isinstance(e, DeviceInfo)])
    window.status.device_label.setText("(stale)")
    settings.device = "cpu"
    window.apply_settings()
    qtbot.waitUntil(
        lambda: len([e for e in window.events if isinstance(e, DeviceInfo)]) > count, timeout=10_000
    )
    assert window.status.device_label.text().startswith("CPU")
    assert not [e for e in window.events if isinstance(e, Started)]


def test_a_long_device_line_is_cut_short_not_widening_the_window_and_a_note_is_said(qtbot, window):
    """A 300-character line (a cluster with many workers) once made the window wider
    than the screen: a QLabel's minimum width is its whole text."""
    wait_for(qtbot, window, DeviceInfo)  # the engine's own line, said before ours
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() == 900)
    line = "Ray cluster · 40 workers (CUDA · RTX 4090 · fp16): " + ", ".join(
        f"worker {n} (gpu-box-{n}.lan)" for n in range(1, 41)
    )
    note = "Ray cluster: a single training runs on this computer, where it is watched live."
    window.status.show_device(DeviceInfo("cluster", "float16", line, "why", note))
    qtbot.wait(50)  # the layout settles
    label = window.status.device_label
    assert window.width() == 900 and label.width() < 900
    assert label.is_elided() and label.shown_text().endswith("…")
    assert line.startswith(label.shown_text()[:-1])
    assert label.tooltip_text().startswith(line + "\n") and "why" in label.tooltip_text()
    assert window.status.note_label.text() == note and window.status.note_label.isVisible()
    window.status.show_device(DeviceInfo("cpu", "float32", "CPU · fp32"))
    qtbot.wait(50)
    assert not label.is_elided() and label.shown_text() == "CPU · fp32"
    assert not label.tooltip_text().startswith("CPU")


def test_widget_ranges_are_the_engines_limits(window):
    create, lab = window.create_panel, window.lab_panel
    pairs = [
        (create.width_box, limits.SD_SIDE),
        (create.height_box, limits.SD_SIDE),
        (create.steps, limits.SD_STEPS),
        (create.cfg, limits.CFG_SCALE),
        (create.batch, limits.SD_BATCH),
        (lab.count, limits.SAMPLE_COUNT),
    ]
    for box, limit in pairs:
        assert (box.minimum(), box.maximum()) == (limit.low, limit.high), limit.name


def test_gallery_double_click_opens_and_delete_moves_to_trash(qtbot, window, trash):
    window.set_mode(1)
    window.lab_panel.count.setValue(2)
    window.generate()
    wait_for(qtbot, window, Finished)
    window.events.clear()
    window.generate()
    finished = wait_for(qtbot, window, Finished)
    window.set_mode(2)
    view = window.gallery_panel.view
    model = window.gallery_panel.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)  # listed off the GUI thread
    index = model.index(0, 0)
    model.data(index, Qt.ItemDataRole.DecorationRole)  # as the view does when it paints
    qtbot.waitUntil(lambda: model.thumbnail_ready(0) and model.thumbnail_ready(1))
    window.canvas.set_image(None)
    view.doubleClicked.emit(index)
    wait_opened(qtbot, window, index.data(Qt.ItemDataRole.UserRole))
    assert window.canvas.image is not None
    # That row alone: the older picture stays selected from when the tab opened (the
    # listing comes off the GUI thread), and an earlier test's Ctrl+Enter leaves Qt
    # thinking Ctrl is held, which would make view.setCurrentIndex add to it.
    view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    newest = Path(index.data(Qt.ItemDataRole.UserRole))
    assert newest in {Path(r.path) for r in finished.outcome.images}
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert not newest.exists()
    assert (trash / "files" / newest.name).is_file()
    assert window.gallery_panel.model.rowCount() == 1


def test_a_failed_delete_is_explained_not_raised(qtbot, window, monkeypatch):
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    window.generate()
    wait_for(qtbot, window, Finished)
    window.set_mode(2)
    view = window.gallery_panel.view
    qtbot.waitUntil(lambda: window.gallery_panel.model.rowCount() == 1)
    view.setCurrentIndex(window.gallery_panel.model.index(0, 0))

    def refuse(path):
        raise StoreError(f"Could not move {path} to the trash: permission denied.")

    monkeypatch.setattr(window.client.gallery, "delete", refuse)
    window.gallery_panel.delete_selected()
    assert "permission denied" in window.last_error


def test_the_old_gallery_is_closed_when_the_output_folder_changes(
    qtbot, window, settings, tmp_path
):
    old = window.client.gallery
    settings.output_dir = tmp_path / "elsewhere"
    window.apply_settings()
    assert old.closed and not window.client.gallery.closed
    assert window.gallery_panel.model.store is window.client.gallery


def test_closing_the_window_closes_the_gallery_and_drains_thumbnails(qtbot, settings, trash):
    import numpy as np

    from engine.api.outcomes import ResultImage
    from engine.store import GalleryStore

    with GalleryStore(settings.output_dir) as seeded:  # a gallery with images to decode
        request = SampleRequest(model=DIGITS, seed=1, count=1)
        for i in range(40):
            seeded.save(ResultImage(np.full((512, 512, 3), i, np.uint8), i), request)
    window = create_main_window(settings)
    qtbot.addWidget(window)
    window.show()
    model = window.gallery_panel.model
    model.refresh()
    for row in range(model.rowCount()):  # as a scrolling view would ask
        model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)
    store = window.client.gallery
    pool = model._loader._pool
    assert pool.activeThreadCount() > 0  # decoding now
    window.gallery_panel.close_loader()  # what closing the window does first
    assert pool.activeThreadCount() == 0  # nothing decodes into a closed window
    window.close()
    assert store.closed


def test_create_generates_with_preview_and_progress(qtbot, window, settings, tiny_sd_model):
    settings.models_dirs = [tiny_sd_model.parent]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    assert window.create_panel.model_path == str(tiny_sd_model)
    window.set_mode(0)
    panel = window.create_panel
    panel.prompt.setPlainText("a red fox in the snow")
    panel.negative.setPlainText("blurry")
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(4)
    panel.seed.set_seed(42)
    panel.sampler.setCurrentText("Euler a")
    ctrl_enter(qtbot, panel.prompt)
    finished = wait_for(qtbot, window, Finished)
    assert [e.step for e in window.events if isinstance(e, Progress) and e.step][-1] == 4
    assert any(isinstance(e, Preview) for e in window.events)
    request = read_metadata(Path(finished.outcome.images[0].path)).request
    assert request == Txt2ImgRequest(
        model=ModelRef(Family.SD, str(tiny_sd_model)),
        prompt=Prompt("a red fox in the snow", "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=4, cfg_scale=7.0, sampler="Euler a", seed=42),
    )
    assert window.create_panel.seed.last_seed == 42


def test_create_walks_between_two_seeds_in_one_strip(qtbot, window, settings, tiny_sd_model):
    from engine.api.requests import LatentWalkRequest

    settings.models_dirs = [tiny_sd_model.parent]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    window.set_mode(0)
    panel = window.create_panel
    panel.prompt.setPlainText("a red fox")
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(3)
    panel.seed.set_seed(5)
    assert not panel.walk.body.isVisibleTo(panel)  # folded away until asked for
    panel.walk.setChecked(True)
    assert panel.walk.body.isVisibleTo(panel)
    panel.walk.to_seed.set_seed(6)
    panel.walk.to_prompt.setText("a blue fox")
    panel.walk.frames.setValue(3)
    window.generate()
    finished = wait_for(qtbot, window, Finished)
    [strip] = finished.outcome.images
    assert strip.width > 3 * 64 and strip.height == 64  # one strip of three frames
    request = read_metadata(Path(strip.path)).request
    assert isinstance(request, LatentWalkRequest)
    assert (request.sampling.seed, request.to_seed, request.frames) == (5, 6, 3)
    assert request.to_prompt == "a blue fox" and request.grid
    from gui.details_panel import describe

    rows = dict(describe(read_metadata(Path(strip.path))))
    assert rows["Latent walk"] == "seed 5 → 6, 3 frames, slerp, to the prompt “a blue fox”"
    # Use these parameters brings the walk back; a plain image turns it off.
    panel.walk.setChecked(False)
    window.use_parameters(read_metadata(Path(strip.path)))
    assert panel.walk.isChecked() and panel.walk.frames.value() == 3
    panel.apply_request(Txt2ImgRequest(model=request.model), None)
    assert not panel.walk.isChecked()


def test_escape_cancels_the_running_job_and_saves_nothing(qtbot, window, settings, tiny_sd_model):
    settings.models_dirs = [tiny_sd_model.parent]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    window.set_mode(0)
    panel = window.create_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(500)
    job = window.generate()
    qtbot.waitUntil(
        lambda: any(isinstance(e, Progress) and e.step >= 1 for e in window.events), timeout=60_000
    )
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    wait_for(qtbot, window, Cancelled)
    steps = [e.step for e in window.events if isinstance(e, Progress)]
    assert max(steps) < 500
    assert not any(isinstance(e, Finished) for e in window.events)
    assert not list(settings.output_dir.rglob("*.png"))
    assert window.queue_dock.status(job) == "cancelled"


def test_unwritable_output_folder_keeps_the_image(qtbot, window, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    settings.output_dir = blocker / "out"
    window.apply_settings()
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    window.generate()
    finished = wait_for(qtbot, window, Finished)
    result = finished.outcome.images[0]
    assert result.path is None and result.save_error
    assert "Save Image As" in window.last_error
    assert window.canvas.image is not None  # still on screen, can be saved elsewhere
    assert len(window.results.unsaved) == 1
    kept = window.files.save_shown_image(tmp_path / "kept")
    assert kept == [tmp_path / "kept.png"]
    meta = read_metadata(kept[0])
    assert meta.request == SampleRequest(model=DIGITS, seed=meta.seed, count=1, grid=True)
    assert meta.seed == result.seed
    assert window.results.unsaved == []


def test_settings_dialog_rejects_a_missing_models_folder(qtbot, settings, tmp_path):
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.models_dirs.addItem(str(tmp_path / "nowhere"))
    dialog.accept()
    assert dialog.isVisible() is False or dialog.result() == 0
    assert "does not exist" in dialog.error.text()
    assert settings.models_dirs == []


def test_settings_persist(tmp_path):
    first = AppSettings(tmp_path)
    first.models_dirs = [tmp_path / "models"]
    first.device = "cpu"
    first.sync()
    second = AppSettings(tmp_path)
    assert second.models_dirs == [tmp_path / "models"] and second.device == "cpu"


def test_queue_dock_removes_a_queued_job_and_cancels_the_running_one(qtbot, window, tiny_sd_model):
    from engine.api.kinds import Lane

    window.create_panel.select_model(str(tiny_sd_model))
    window.set_mode(0)
    panel = window.create_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(500)
    running = window.generate()
    queued = window.generate()
    qtbot.waitUntil(lambda: window.client.running_job_id(Lane.GENERATE) == running, timeout=60_000)
    dock = window.queue_dock
    assert "seed" in dock.tree.topLevelItem(0).text(0) and "64×64" in dock.tree.topLevelItem(
        0
    ).text(0)
    dock.select(queued)
    assert dock.cancel_button.isEnabled() and not dock.pause_button.isEnabled()
    dock.cancel_button.click()
    qtbot.waitUntil(lambda: dock.status(queued) == "cancelled")  # removed, never started
    dock.select(running)
    dock.cancel_button.click()
    qtbot.waitUntil(lambda: dock.status(running) == "cancelled", timeout=60_000)
    started = [e.job_id for e in window.events if isinstance(e, Started)]
    assert started == [running]
    dock.clear_finished()
    assert dock.tree.topLevelItemCount() == 0
