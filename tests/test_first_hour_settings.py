"""The first hour (issue 7), settings and start-up: the Settings dialog says at once what an
output or models folder holds or why it cannot work, single-file checkpoints are listed
with their family, what was typed comes back after a restart, and a fresh Linux gets the
one line that installs a missing system library."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from gui.app import create_main_window
from gui.settings_dialog import SettingsDialog
from tests.sd_original_layout import save_single_file, tiny_pipeline, write_header_only

# 9 ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("folder", "words"),
    [("/proc/latent", "system folder"), ("{file}/out", "is a file"), ("", "cannot be empty")],
)
def test_settings_say_at_once_why_an_output_folder_cannot_work(
    qtbot, settings, tmp_path, folder, words
):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.output_dir.setText(folder.format(file=blocker))
    assert dialog.output_note.isVisibleTo(dialog) and words in dialog.output_note.text()
    dialog.accept()
    assert words in dialog.error.text()


def test_settings_say_what_a_models_folder_holds(qtbot, settings, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    a1111 = tmp_path / "a1111" / "models"
    (a1111 / "Stable-diffusion").mkdir(parents=True)
    save_single_file(tiny_pipeline("sd1"), a1111 / "Stable-diffusion" / "tiny.safetensors")
    (a1111 / "Lora").mkdir()
    save_file({"x.lora_down.weight": torch.zeros(4, 8)}, str(a1111 / "Lora" / "style.safetensors"))
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.models_dirs.addItem(str(empty))
    assert "no Stable Diffusion models found" in dialog.models_note.text()
    dialog.models_dirs.addItem(str(tmp_path / "a1111"))
    assert "a1111: 1 checkpoint, 1 LoRA." in dialog.models_note.text()


# 10 ---------------------------------------------------------------- single files found


def test_single_file_checkpoints_are_listed_with_family_size_and_problems(
    qtbot, window, settings, tmp_path
):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    save_single_file(tiny_pipeline("sd1"), folder / "dreamshaper_8.safetensors")
    write_header_only(
        folder / "flux-dev.safetensors", {"double_blocks.0.img_attn.norm.key_norm.scale": (128,)}
    )
    settings.models_dirs = [folder]
    with qtbot.waitSignal(window.create_panel.models_listed, timeout=30_000):
        window.apply_settings()
    box = window.create_panel.model_box
    assert box.count() == 2
    assert box.itemText(0).startswith("dreamshaper_8 · SD 1.x · ")
    assert window.create_panel.model_path == str(folder / "dreamshaper_8.safetensors")
    assert box.itemText(1) == "flux-dev — a FLUX model: not supported"
    assert not box.model().item(1).isEnabled()


# 11 ---------------------------------------------------------------- remembered settings


def test_prompt_and_settings_come_back_after_a_restart(qtbot, settings, trash):
    first = create_main_window(settings)
    qtbot.addWidget(first)
    panel = first.create_panel
    panel.prompt.setPlainText("a lighthouse at dusk")
    panel.negative.setPlainText("fog")
    panel.width_box.setValue(640)
    panel.steps.setValue(33)
    panel.sampler.setCurrentText("Euler a")
    panel.cfg.setValue(5.5)
    panel.batch.setValue(3)
    first.lab_panel.count.setValue(9)
    first.close_now()
    second = create_main_window(settings)
    qtbot.addWidget(second)
    panel = second.create_panel
    assert (panel.prompt.toPlainText(), panel.negative.toPlainText()) == (
        "a lighthouse at dusk",
        "fog",
    )
    assert (
        panel.width_box.value(),
        panel.steps.value(),
        panel.cfg.value(),
        panel.batch.value(),
    ) == (640, 33, 5.5, 3)
    assert panel.sampler.currentText() == "Euler a" and second.lab_panel.count.value() == 9
    second.close_now()


# 15 ---------------------------------------------------------------- a fresh Linux


LDD_ON_A_MINIMAL_INSTALL = """
	linux-vdso.so.1 (0x00007ffd)
	libQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f78)
	libxcb-cursor.so.0 => not found
	libxcb-icccm.so.4 => not found
	libxcb-keysyms.so.1 => not found
	libxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f78)
"""


def test_a_missing_system_library_gets_the_one_line_that_installs_it():
    from gui.system_check import install_line, missing_libraries

    missing = missing_libraries(LDD_ON_A_MINIMAL_INSTALL)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert (
        install_line(missing)
        == "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
    )


def test_the_check_reads_the_real_plugin_and_knows_every_package_it_may_ask_for():
    import sys as _sys

    from gui.system_check import DEBIAN_PACKAGES, check, plugin_files

    if not _sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    assert plugin_files()  # the wheel's xcb plugin is where we look
    assert set(check()) <= set(DEBIAN_PACKAGES)  # whatever is missing here has a package
