"""The canvas shows the user's results, and the Image details describe what it shows.

A training's samples go to the Train tab's own preview, so a sheet just made stays on
the canvas; a pause looks paused (no rate, no ETA); a cancelled preview and an unsaved
Explore frame are never described by the previous image's details. Real window, real
engine (issue 19, "The first hour").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from engine.api.events import Cancelled, Finished, Frames, Metrics, Paused, Preview
from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, ModelOutcome
from gui.explore import Tool
from gui.settings import AppSettings
from tests.opened import wait_described

LAB = 1


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    return settings


@pytest.fixture
def window(models_dir, window):
    window.set_mode(LAB)
    return window


def events(window, kind: type) -> list:
    return [e for e in window.events if isinstance(e, kind)]


def made_sheet(qtbot, window) -> Path:
    """Generate a Lab sheet; the path of the image it saved."""
    before = len(events(window, Finished))
    window.lab_panel.tabs.setCurrentIndex(0)
    assert window.generate() is not None, window.last_error
    qtbot.waitUntil(lambda: len(events(window, Finished)) > before, timeout=60_000)
    wait_described(qtbot, window)  # its file's details are read off the GUI thread
    outcome = events(window, Finished)[-1].outcome
    assert isinstance(outcome, ImagesOutcome)
    return Path(outcome.images[0].path)


def same_pixels(a: QImage, b: QImage) -> bool:
    fmt = QImage.Format.Format_RGB888
    return a.convertToFormat(fmt) == b.convertToFormat(fmt)


def details_note(window) -> str:
    grid = window.details.grid
    labels = [grid.itemAt(i).widget() for i in range(grid.count())]
    return " ".join(w.text() for w in labels if isinstance(w, QLabel))


def start_training(qtbot, window, steps: int) -> None:
    train = window.lab_panel.train
    window.lab_panel.tabs.setCurrentWidget(train)
    train.family.setCurrentIndex(train.family.findData(Family.VAE.value))
    train.data.setCurrentIndex(train.data.findData("digits"))
    train.steps.setValue(steps)
    train.batch.setValue(16)
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)


def test_training_samples_stay_in_the_train_tab_and_the_sheet_stays_on_the_canvas(qtbot, window):
    sheet = made_sheet(qtbot, window)
    start_training(qtbot, window, steps=200_000)
    qtbot.waitUntil(lambda: len(events(window, Frames)) >= 2, timeout=60_000)
    # The canvas still shows the sheet, and the details describe that very file…
    assert same_pixels(window.canvas.image, QImage(str(sheet)))
    assert window.details.meta is not None and Path(window.details.meta.path) == sheet
    # …while the samples are shown in the Train tab.
    train = window.lab_panel.train
    assert train.preview.image is not None and not train.preview.pixmap().isNull()

    qtbot.mouseClick(train.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(isinstance(e.outcome, ModelOutcome) for e in events(window, Finished)),
        timeout=60_000,
    )
    assert same_pixels(window.canvas.image, QImage(str(sheet)))
    assert Path(window.details.meta.path) == sheet


def test_a_paused_training_shows_paused_without_a_rate_or_an_eta(qtbot, window):
    start_training(qtbot, window, steps=200_000)
    qtbot.waitUntil(lambda: bool(events(window, Metrics)), timeout=60_000)
    train = window.lab_panel.train
    qtbot.mouseClick(train.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(events(window, Paused)), timeout=30_000)
    status = window.status.progress_label.text()
    assert status.startswith("Paused at step"), status
    assert "it/s" not in status and "ETA" not in status
    assert train.progress.format().startswith("Paused at step")
    qtbot.wait(1_200)  # the status bar's clock ticks: still paused, still no ETA
    assert window.status.progress_label.text() == status
    qtbot.mouseClick(train.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=60_000)


def test_an_explore_frame_is_not_described_by_the_previous_images_details(qtbot, window):
    made_sheet(qtbot, window)
    lab = window.lab_panel
    lab.refresh_models(select="ddpm-shapes")
    lab.tabs.setCurrentWidget(lab.explore)
    lab.explore.select_tool(Tool.FORWARD)
    page = lab.explore.forward
    qtbot.waitUntil(lambda: len(page.alpha_bar) == 1000, timeout=60_000)
    page.t.setValue(400)
    qtbot.waitUntil(lambda: "t=400" in details_note(window).replace(" ", ""), timeout=30_000)
    assert window.details.meta is None
    assert "not saved" in details_note(window)


def test_a_cancelled_preview_is_not_described_by_the_previous_images_details(
    qtbot, window, settings, tiny_sd_model
):
    from tests.test_first_hour import use_tiny_model

    use_tiny_model(window, settings, tiny_sd_model, steps=3)
    before = len(events(window, Finished))
    window.generate()
    qtbot.waitUntil(lambda: len(events(window, Finished)) > before, timeout=60_000)
    wait_described(qtbot, window)
    assert window.details.meta is not None  # the first image, described
    window.create_panel.steps.setValue(200)
    job = window.generate()
    qtbot.waitUntil(lambda: any(e.job_id == job for e in events(window, Preview)), timeout=60_000)
    assert window.details.meta is None and "preview" in details_note(window)
    window.controls.cancel_running()
    qtbot.waitUntil(lambda: bool(events(window, Cancelled)), timeout=60_000)
    assert window.canvas.banner.startswith("Cancelled")
    assert window.details.meta is None and "not saved" in details_note(window)
