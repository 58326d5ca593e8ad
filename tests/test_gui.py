"""The real main window, driven with qtbot, with the real engine client and runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine.jobs import (
    Cancelled,
    DeviceInfo,
    Finished,
    Preview,
    Progress,
    Queued,
    SampleRequest,
    Txt2ImgRequest,
)
from engine.store import read_metadata
from gui.app import create_main_window
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    return settings


@pytest.fixture
def window(qtbot, settings, trash):
    window = create_main_window(settings)
    window.events = []
    window.client.event.connect(window.events.append)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def wait_for(qtbot, window, kind, timeout=60_000):
    qtbot.waitUntil(lambda: any(isinstance(e, kind) for e in window.events), timeout=timeout)
    return next(e for e in window.events if isinstance(e, kind))


def ctrl_enter(qtbot, widget):
    qtbot.keyClick(widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_latent_lab_generate_lands_in_gallery_with_metadata(qtbot, window, settings):
    window.set_mode(1)
    window.lab_panel.seed.set_seed(1234)
    window.lab_panel.count.setValue(4)
    ctrl_enter(qtbot, window.lab_panel.count)
    finished = wait_for(qtbot, window, Finished)
    queued = next(e for e in window.events if isinstance(e, Queued))
    assert queued.request == SampleRequest(model="vae-digits", seed=1234, count=4)
    assert [r.seed for r in finished.results] == [1234, 1235, 1236, 1237]
    for result in finished.results:
        meta = read_metadata(Path(result.path))
        assert meta.request == queued.request
        assert meta.seed == result.seed
        assert Path(result.path).is_relative_to(settings.output_dir)
    assert window.canvas.image is not None and not window.canvas.image.isNull()
    window.set_mode(2)
    assert window.gallery_panel.model.rowCount() == 4
    assert window.lab_panel.seed.last_seed == 1234


def test_status_bar_names_the_device(qtbot, window):
    window.set_mode(1)
    window.generate()
    info = wait_for(qtbot, window, DeviceInfo)
    assert info.description == "CPU · fp32"
    qtbot.waitUntil(lambda: window.device_label.text() == "CPU · fp32")


def test_gallery_double_click_opens_and_delete_moves_to_trash(qtbot, window, trash):
    window.set_mode(1)
    window.lab_panel.count.setValue(2)
    window.generate()
    finished = wait_for(qtbot, window, Finished)
    window.set_mode(2)
    view = window.gallery_panel.view
    model = window.gallery_panel.model
    index = model.index(0, 0)
    model.data(index, Qt.ItemDataRole.DecorationRole)  # as the view does when it paints
    qtbot.waitUntil(lambda: model.thumbnail_ready(0) and model.thumbnail_ready(1))
    window.canvas.set_image(None)
    view.doubleClicked.emit(index)
    assert window.canvas.image is not None
    view.setCurrentIndex(index)
    newest = Path(index.data(Qt.ItemDataRole.UserRole))
    assert newest in {Path(r.path) for r in finished.results}
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert not newest.exists()
    assert (trash / "files" / newest.name).is_file()
    assert window.gallery_panel.model.rowCount() == 1


def test_create_generates_with_preview_and_progress(qtbot, window, settings, tiny_sd_model):
    settings.models_dirs = [tiny_sd_model.parent]
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
    request = read_metadata(Path(finished.results[0].path)).request
    assert request == Txt2ImgRequest(
        model=str(tiny_sd_model),
        prompt="a red fox in the snow",
        negative_prompt="blurry",
        width=64,
        height=64,
        steps=4,
        cfg_scale=7.0,
        seed=42,
        sampler="Euler a",
    )


def test_escape_cancels_the_running_job_and_saves_nothing(qtbot, window, settings, tiny_sd_model):
    settings.models_dirs = [tiny_sd_model.parent]
    window.apply_settings()
    window.set_mode(0)
    panel = window.create_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(500)
    window.generate()
    qtbot.waitUntil(
        lambda: any(isinstance(e, Progress) and e.step >= 1 for e in window.events), timeout=60_000
    )
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    wait_for(qtbot, window, Cancelled)
    steps = [e.step for e in window.events if isinstance(e, Progress)]
    assert max(steps) < 500
    assert not any(isinstance(e, Finished) for e in window.events)
    assert not list(settings.output_dir.rglob("*.png"))
    assert window.queue_dock.status(1) == "cancelled"


def test_size_not_a_multiple_of_8_offers_the_nearest(qtbot, window, tiny_sd_model):
    window.create_panel.select_model(str(tiny_sd_model))
    window.set_mode(0)
    window.create_panel.width_box.setValue(500)
    assert window.generate() is None
    assert "500 is not a multiple of 8" in window.last_error and "504" in window.last_error
    assert window.client.pending_job_ids() == [] and window.client.running_job_id is None
    box = next(w for w in window.findChildren(QMessageBox) if w.isVisible())
    fix = next(b for b in box.buttons() if b.text() == "Use nearest size")
    fix.click()
    assert window.create_panel.width_box.value() == 504


def test_unwritable_output_folder_keeps_the_image(qtbot, window, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    settings.output_dir = blocker / "out"
    window.apply_settings()
    window.set_mode(1)
    window.lab_panel.count.setValue(1)
    window.generate()
    finished = wait_for(qtbot, window, Finished)
    result = finished.results[0]
    assert result.path is None and result.save_error
    assert "Save Image As" in window.last_error
    assert window.canvas.image is not None  # still on screen, can be saved elsewhere
    kept = window.save_shown_image(tmp_path / "kept")
    assert kept == [tmp_path / "kept.png"]
    meta = read_metadata(kept[0])
    assert meta.request == SampleRequest(model="vae-digits", seed=meta.seed, count=1)
    assert meta.seed == result.seed


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
    window.create_panel.select_model(str(tiny_sd_model))
    window.set_mode(0)
    panel = window.create_panel
    panel.width_box.setValue(64)
    panel.height_box.setValue(64)
    panel.steps.setValue(500)
    running = window.generate()
    queued = window.generate()
    qtbot.waitUntil(lambda: window.client.running_job_id == running, timeout=60_000)
    dock = window.queue_dock
    dock.select(queued)
    assert dock.cancel_button.isEnabled()
    dock.cancel_button.click()
    assert dock.status(queued) == "cancelled"  # removed at once, never started
    dock.select(running)
    dock.cancel_button.click()
    qtbot.waitUntil(lambda: dock.status(running) == "cancelled", timeout=60_000)
    started = [e.job_id for e in window.events if type(e).__name__ == "Started"]
    assert started == [running]
    dock.clear_finished()
    assert dock.tree.topLevelItemCount() == 0
