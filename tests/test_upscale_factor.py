"""Upscale says no before a run, and a failed run never hides a finished one (issue 19:
×2 could be picked for a ×4-only model, every image failed, and the earlier good
result's row was overwritten)."""

# ruff: noqa: F811 - the window fixture comes from test_upscale_gui
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from engine.api.events import Finished, Queued
from engine.api.requests import UpscaleRequest
from gui.viewmodels.upscale import EntryStatus
from tests.test_upscale_gui import ended, settings, window, write_png  # noqa: F401


def upscales_queued(window) -> int:
    return sum(
        isinstance(e, Queued) and isinstance(e.request, UpscaleRequest) for e in window.events
    )


def test_a_factor_below_the_models_own_is_not_offered_and_is_refused_before_a_run(
    qtbot, window, tmp_path
):
    panel = window.upscale_panel
    panel.add_paths([write_png(tmp_path / "photo.png", 16, 12)])
    assert panel.select_model("lanczos")
    panel.x2.setChecked(True)
    assert panel.select_model("lite-x4")
    assert not panel.x2.isEnabled() and panel.x4.isEnabled()
    assert not panel.x2.isChecked()  # moved to a factor the model can do
    assert panel.factor.minimum() == 4.0
    # A remembered ×2 (an older version's settings) is refused with a sentence, no job runs.
    panel.restore({"model": "lite-x4", "scale": 2.0})
    assert window.generate() is None
    assert "lite-x4 enlarges ×4" in window.last_error
    qtbot.wait(300)
    assert upscales_queued(window) == 0
    # A ×2 model, or Lanczos, gets ×2 back.
    assert panel.select_model("lite-x2") and panel.x2.isEnabled()
    assert panel.select_model("lanczos") and panel.x2.isEnabled() and panel.factor.minimum() == 1


def test_a_failed_run_keeps_the_earlier_result_of_its_row(qtbot, window, tmp_path):
    panel = window.upscale_panel
    image = write_png(tmp_path / "photo.png", 16, 12)
    panel.add_paths([image])
    panel.select_model("lanczos")
    panel.x2.setChecked(True)
    window.generate()
    qtbot.waitUntil(lambda: len(ended(window)) == 1, timeout=60_000)
    [done] = ended(window)
    assert isinstance(done, Finished)
    result = done.outcome.images[0].path
    image.write_bytes(b"")  # the file is damaged since: the next run fails
    window.generate()
    qtbot.waitUntil(lambda: len(ended(window)) == 2, timeout=60_000)
    [entry] = panel.inputs.entries
    assert entry.status is EntryStatus.DONE and entry.result == result
    row = panel.list.item(0).text()
    assert row.startswith("photo.png\n✓") and "failed" not in row
    assert "upscaling it again failed" in panel.list.item(0).toolTip()
    assert Path(result).is_file()


def test_a_file_that_cannot_be_used_says_why_under_the_picker(qtbot, window, tmp_path):
    panel = window.upscale_panel
    panel.add_paths([write_png(tmp_path / "photo.png", 16, 12)])
    fake = str(tmp_path / "models" / "upscale_models" / "4x-Sharp.pth")
    assert panel.model_box.itemText(panel.model_box.count() - 1) == "4x-Sharp"
    assert panel.select_model(fake)
    qtbot.waitUntil(panel.model_note.isVisible, timeout=60_000)
    tip = panel.model_box.itemData(panel.model_box.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    reason = tip.splitlines()[0]
    assert panel.model_note.text() == reason and "4x-Sharp.pth" in reason
    assert window.generate() is None and window.last_error == reason
    assert panel.select_model("lanczos") and not panel.model_note.isVisible()
