"""Latent Lab → History, driven with qtbot on the real window and engine: the families in
the order history met them, samples drawn as thumbnails only (never the canvas, never the
unsaved images), Measure filling each row's figures, and a row opening its model's
Explore tools."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.api import families

LAB = 1


@pytest.fixture
def history(models_dir, window):
    window.set_mode(LAB)
    lab = window.lab_panel
    timeline = lab.timeline
    timeline.data_box.setCurrentIndex(timeline.data_box.findData("emoji"))  # two models
    lab.tabs.setCurrentWidget(timeline)
    return timeline


def _has_thumbnail(timeline, row: int) -> bool:
    pixmap = timeline.table.cellWidget(row, 1).pixmap()
    return pixmap is not None and not pixmap.isNull()


def _cell(timeline, row: int, column: int) -> str:
    item = timeline.table.item(row, column)
    return item.text() if item else ""


def test_rows_follow_history_and_samples_are_thumbnails_only(qtbot, history, window):
    rows = [r.family for r in history.rows]
    assert rows == list(families.lab_families())
    with_model = [i for i, r in enumerate(history.rows) if r.model]
    assert [history.rows[i].model for i in with_model] == ["vae-emoji", "gan-emoji"]
    qtbot.waitUntil(lambda: all(_has_thumbnail(history, i) for i in with_model), timeout=60_000)
    for i, row in enumerate(history.rows):
        if not row.model:
            assert history.table.cellWidget(i, 1).text() == "no bundled model"
        label = history.table.cellWidget(i, 0).text()
        assert str(row.year) in label and row.title in label
    results = window.results  # the thumbnails are the table's, not results
    assert results.shown is None and not results.unsaved


def test_measure_fills_each_row_and_a_double_click_opens_explore(qtbot, history, window):
    vae = [r.family for r in history.rows].index("vae")
    gan = [r.family for r in history.rows].index("gan")
    assert _cell(history, gan, 2).startswith("none")  # a GAN has no likelihood at all
    qtbot.mouseClick(history.measure_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: history.measure_button.isEnabled(), timeout=240_000)
    assert _cell(history, vae, 2).endswith("bound")
    assert float(_cell(history, vae, 2).split()[0]) > 0
    samples_column = 2 + 6  # likelihood, five meter figures, then the 64 samples' time
    assert _cell(history, gan, samples_column).endswith((" s", " ms"))
    assert history.status.text() == "Measured on the held-out images."
    history.table.cellDoubleClicked.emit(gan, 0)
    lab = window.lab_panel
    assert lab.tabs.currentWidget() is lab.explore and lab.model.id == "gan-emoji"
    qtbot.waitUntil(lambda: not window.jobs.active(), timeout=60_000)  # its sliders' axes
