"""The numeric path in the window: Settings → Precision reaches the engine, and the status
bar says which path runs and why (its tooltip)."""

from __future__ import annotations

import pytest

from engine.api.events import DeviceInfo, Started
from gui.settings_dialog import SettingsDialog


def device_events(window) -> list[DeviceInfo]:
    return [e for e in window.events if isinstance(e, DeviceInfo)]


def test_settings_offer_automatic_and_full_precision_and_save_the_choice(qtbot, settings):
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    keys = [dialog.precision.itemData(i) for i in range(dialog.precision.count())]
    assert keys == ["auto", "fp32"] and dialog.precision.currentData() == "auto"
    dialog.precision.setCurrentIndex(keys.index("fp32"))
    dialog.apply()
    assert settings.precision == "fp32"


def test_a_precision_change_shows_in_the_status_bar_with_its_reason(qtbot, window, settings):
    import torch  # the test's own look at the machine

    if torch.cuda.is_available():
        pytest.skip("the CPU's path: on a GPU machine the status bar names the GPU")
    qtbot.waitUntil(lambda: bool(device_events(window)), timeout=60_000)
    for precision, label, reason in (
        ("bf16", "CPU · bf16", "bf16, as chosen"),
        ("fp32", "CPU · fp32", "full precision"),
    ):
        count = len(device_events(window))
        settings.device = "cpu"
        settings.precision = precision
        window.apply_settings()
        qtbot.waitUntil(lambda n=count: len(device_events(window)) > n, timeout=10_000)
        assert window.status.device_label.text() == label
        assert reason in window.status.device_label.toolTip()
    assert not [e for e in window.events if isinstance(e, Started)]
