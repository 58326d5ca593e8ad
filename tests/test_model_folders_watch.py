"""Model files copied into the model folders while the app runs show up by themselves,
and the status bar says what changed (issue 19: nothing was listed until Settings → OK)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from gui.app import create_main_window
from gui.settings import AppSettings
from tests.sd_original_layout import full_size_shapes, write_header_only
from tests.upscalers import esrgan_net, save_safetensors


@pytest.fixture(scope="module")
def sd15_shapes() -> dict[str, tuple[int, ...]]:
    return full_size_shapes("sd15")


@pytest.fixture
def install(tmp_path: Path, sd15_shapes) -> Path:
    """An A1111 install with one checkpoint; more are copied in by the tests."""
    webui = tmp_path / "stable-diffusion-webui"
    checkpoints = webui / "models" / "Stable-diffusion"
    checkpoints.mkdir(parents=True)
    (webui / "models" / "ESRGAN").mkdir()
    write_header_only(checkpoints / "first.safetensors", sd15_shapes)
    return webui


@pytest.fixture
def window(qtbot, tmp_path, install, trash):
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    settings.models_dirs = [install]
    window = create_main_window(settings)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.show()
    yield window
    window.close_now()


def picker_names(window) -> list[str]:
    box = window.create_panel.model_box
    return [box.itemText(i).split(" · ")[0] for i in range(box.count())]


def test_a_checkpoint_copied_in_appears_and_the_status_bar_says_so(
    qtbot, window, install, tmp_path, sd15_shapes
):
    assert picker_names(window) == ["first"]
    # Written elsewhere, then moved in, as a file manager or a download does.
    outside = write_header_only(tmp_path / "dreamshaper_8.safetensors", sd15_shapes)
    shutil.move(outside, install / "models" / "Stable-diffusion" / "dreamshaper_8.safetensors")
    qtbot.waitUntil(lambda: picker_names(window) == ["dreamshaper_8", "first"], timeout=10_000)
    assert window.statusBar().currentMessage() == (
        "1 new model in the model folders: dreamshaper_8."
    )
    assert window.create_panel.model_path.endswith("first.safetensors")  # choice kept


def test_a_file_in_a_new_subfolder_and_a_removed_one_are_noticed(
    qtbot, window, install, sd15_shapes
):
    mine = install / "models" / "Stable-diffusion" / "mine"
    mine.mkdir()
    qtbot.wait(800)  # the new folder is listed, and watched, by the rescan it causes
    write_header_only(mine / "photon.safetensors", sd15_shapes)
    qtbot.waitUntil(lambda: "photon" in picker_names(window), timeout=10_000)
    (install / "models" / "Stable-diffusion" / "first.safetensors").unlink()
    qtbot.waitUntil(lambda: picker_names(window) == ["photon"], timeout=10_000)
    assert window.statusBar().currentMessage() == "1 model gone: first."


def test_the_window_getting_focus_back_lists_what_the_watcher_missed(
    qtbot, window, install, sd15_shapes
):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.wait(1000)  # the rescan that being shown in front asked for
    window.create_panel.models.folder_watch.watcher.blockSignals(True)  # e.g. a network share
    write_header_only(install / "models" / "Stable-diffusion" / "late.safetensors", sd15_shapes)
    qtbot.wait(1000)
    assert picker_names(window) == ["first"]
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))  # back in front
    qtbot.waitUntil(lambda: picker_names(window) == ["first", "late"], timeout=10_000)


def test_an_upscaler_copied_in_joins_the_upscale_picker(qtbot, window, install):
    box = window.upscale_panel.model_box
    assert not any("tiny-esrgan" in box.itemText(i) for i in range(box.count()))
    save_safetensors(esrgan_net(4), install / "models" / "ESRGAN" / "tiny-esrgan.safetensors")
    qtbot.waitUntil(
        lambda: any("tiny-esrgan" in box.itemText(i) for i in range(box.count())), timeout=10_000
    )
    assert "1 new model" in window.statusBar().currentMessage()
