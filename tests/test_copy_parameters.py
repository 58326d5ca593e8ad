"""Copy parameters on another tool's picture (issue 24): the details dock copies what was
read as A1111 text, which A1111's own rules read back to the literal values the picture
was built with (tests/foreign_pictures.py)."""

from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication

from engine.store.a1111 import parse_parameters
from tests.foreign_pictures import comfy_graph, png
from tests.test_png_info_gui import dropped


def test_a_comfyui_pictures_parameters_are_copied_as_a1111_text(qtbot, window, tmp_path):
    path = png(tmp_path / "comfy.png", {"prompt": json.dumps(comfy_graph())})
    dropped(qtbot, window, window.canvas, path)
    button = window.details.copy_parameters
    qtbot.waitUntil(button.isEnabled)
    button.click()
    text = QGuiApplication.clipboard().text()
    first_line = text.splitlines()[0]
    assert first_line == "a lighthouse <lora:first:0.8> <lora:second:0.35>"
    read = parse_parameters(text)
    assert read["negative_prompt"] == "fog"
    assert (read["seed"], read["steps"], read["cfg_scale"]) == (987654321012, 30, 4.5)
    assert (read["width"], read["height"]) == (832, 1216)
    assert read["sampler"] == "DPM++ 2M SDE Karras" and read["model"] == "sdxl.safetensors"


def test_nothing_to_copy_when_nothing_was_read(qtbot, window, tmp_path):
    path = png(tmp_path / "plain.png", {})
    dropped(qtbot, window, window.canvas, path)
    assert not window.details.copy_parameters.isEnabled()
