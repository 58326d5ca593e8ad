"""The first hour (issue 7), the Image details: the recipe shown and reused, other tools'
PNGs read, the gallery walked with the arrow keys, and one sample of a sheet kept."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from engine.api.requests import SampleRequest
from engine.store import read_metadata
from tests.opened import wait_opened
from tests.test_first_hour import DIGITS, finished_jobs, generate_and_wait, use_tiny_model

# ---------------------------------------------------------------- details panel


def test_details_show_the_recipe_and_use_these_parameters_refills_create(
    qtbot, window, settings, tiny_sd_model
):
    use_tiny_model(window, settings, tiny_sd_model)
    panel = window.create_panel
    panel.prompt.setPlainText("a red fox in the snow")
    panel.negative.setPlainText("blurry")
    panel.sampler.setCurrentText("Euler a")
    panel.seed.set_seed(99)
    panel.batch.setValue(2)
    made = generate_and_wait(qtbot, window).outcome.images
    rows = dict(window.details.rows())
    assert rows["Prompt"] == "a red fox in the snow" and rows["Seed"] == "99"
    assert rows["Sampler"] == "Euler a" and rows["Size"] == "64×64"
    panel.prompt.setPlainText("something else")
    panel.steps.setValue(12)
    window.set_mode(2)
    window.gallery_panel.select_path(made[1].path)  # the second image: seed 100
    wait_opened(qtbot, window, made[1].path)
    window.details.use_button.click()
    assert window.mode == "Create"
    assert panel.prompt.toPlainText() == "a red fox in the snow" and panel.steps.value() == 3
    assert panel.seed.edit.text() == "100" and panel.batch.value() == 1
    window.details.copy_seed.click()
    assert QApplication.clipboard().text() == "100"


def test_details_read_other_tools_pngs(qtbot, window, settings):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a castle\nNegative prompt: ugly\nSteps: 28, Sampler: DPM++ 2M, Schedule type: Karras, "
        "CFG scale: 6.5, Seed: 1234, Size: 512x768, Model: dreamshaper_8, Clip skip: 2",
    )
    path = settings.output_dir / "a1111.png"
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (512, 768)).save(path, pnginfo=info)
    window.open_image(str(path))
    wait_opened(qtbot, window, path)
    rows = dict(window.details.rows())
    assert rows["Prompt"] == "a castle" and rows["Negative prompt"] == "ugly"
    assert rows["Seed"] == "1234" and rows["Clip skip"] == "2" and rows["Size"] == "512×768"
    window.details.copy_parameters.click()
    assert QApplication.clipboard().text().startswith("a castle\nNegative prompt: ugly")
    window.details.use_button.click()
    panel = window.create_panel
    assert panel.sampler.currentText() == "DPM++ 2M Karras"
    assert (panel.steps.value(), panel.cfg.value(), panel.seed.edit.text()) == (28, 6.5, "1234")
    assert (panel.width_box.value(), panel.height_box.value()) == (512, 768)


def test_arrow_keys_walk_the_gallery_and_the_canvas_follows(qtbot, window):
    window.set_mode(1)
    first = generate_and_wait(qtbot, window).outcome.images[0].path
    second = generate_and_wait(qtbot, window).outcome.images[0].path
    window.set_mode(2)
    view = window.gallery_panel.view
    window.gallery_panel.select_path(second)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    wait_opened(qtbot, window, first)
    assert dict(window.details.rows())["Seed"] == str(read_metadata(Path(first)).seed)


def test_a_single_sample_of_a_sheet_can_be_kept(qtbot, window, settings):
    window.set_mode(1)
    window.lab_panel.seed.set_seed(500)
    window.lab_panel.count.setValue(4)
    generate_and_wait(qtbot, window)
    canvas = window.canvas
    rect = canvas.image_rect()
    # The sheet is 2 x 2: click the lower right sample (seed 503).
    qtbot.mouseClick(
        canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.right() - 5), int(rect.bottom() - 5))
    )
    assert window.lab_panel.keep_button.isEnabled() and "503" in window.lab_panel.keep_button.text()
    window.lab_panel.keep_button.click()
    qtbot.waitUntil(lambda: len(finished_jobs(window)) == 2, timeout=30_000)
    kept = finished_jobs(window)[-1].outcome.images[0]
    assert read_metadata(Path(kept.path)).request == SampleRequest(model=DIGITS, seed=503, count=1)
    # The kept sample is the very pixels of that sheet cell.
    sheet = finished_jobs(window)[0].outcome.images[0]
    layout = sheet.info["grid"]
    x = layout["cell_width"] + layout["gap"]
    y = layout["cell_height"] + layout["gap"]
    cell = sheet.rgb[y : y + layout["cell_height"], x : x + layout["cell_width"]]
    assert (cell == kept.rgb).all()
    assert json.loads(json.dumps(sheet.info["seeds"])) == [500, 501, 502, 503]


def _a1111_png(path: Path, parameters: str) -> Path:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64)).save(path, pnginfo=info)
    return path


def test_an_a1111_hires_picture_fills_the_hires_fix(qtbot, window, settings):
    # A literal A1111 1.10 txt2img line with hires fix (its own field names and formats).
    path = _a1111_png(
        settings.output_dir / "hires.png",
        "a castle\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 9, Size: 512x512, "
        "Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 12, Hires upscaler: Latent",
    )
    window.open_image(str(path))
    wait_opened(qtbot, window, path)
    window.details.use_button.click()
    vm = window.create_panel.vm.source
    assert vm.hires.value is True
    assert (vm.hires_scale.value, vm.hires_steps.value, vm.hires_denoise.value) == (1.5, 12, 0.45)
    assert vm.hires_upscaler.value == "latent"


def test_an_a1111_inpaint_picture_fills_the_options_and_names_the_missing_image(
    qtbot, window, settings
):
    path = _a1111_png(
        settings.output_dir / "inpaint.png",
        "a cat\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 7, Seed: 5, Size: 512x512, "
        "Denoising strength: 0.6, Mask blur: 8, Inpaint area: Only masked, "
        "Masked area padding: 48",
    )
    window.open_image(str(path))
    wait_opened(qtbot, window, path)
    with qtbot.waitSignal(window.create_panel.notice) as said:
        window.details.use_button.click()
    assert "source image" in said.args[0] and "mask" in said.args[0]
    vm = window.create_panel.vm.source
    assert vm.strength.value == 0.6 and vm.kind.value == "inpaint"
    assert (vm.blur.value, vm.area.value, vm.padding.value) == (8, "masked", 48)
