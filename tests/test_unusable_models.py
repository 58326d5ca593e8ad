"""A file in the model folders that cannot be used says why, one click from Create
(issue 19: the picker said only that it could not be used; the reason was in a tooltip)."""

from __future__ import annotations

import os

import torch


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def test_why_a_file_cannot_be_used_is_one_click_away(qtbot, window, settings, tmp_path):
    folder = tmp_path / "models" / "Stable-diffusion"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {"payload": _RunsCode()}}, str(folder / "merged.ckpt"))
    settings.models_dirs = [tmp_path / "models"]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    window.set_mode(0)
    note = window.create_panel.unusable_note
    assert note.isVisible()
    assert note.text().startswith("1 file in the model folders cannot be used")
    note.linkActivated.emit("why")  # the click on "why?"
    qtbot.waitUntil(lambda: note.box is not None and note.box.isVisible())
    shown = note.box.text()
    assert "merged.ckpt" in shown and "would run code when loaded" in shown
    assert "posix.system" in shown
    note.box.close()
