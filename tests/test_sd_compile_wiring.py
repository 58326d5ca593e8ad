"""The compile choice from end to end: Settings / `--compile` → the runtime → the job's
message, its recipe, the status bar and the Details Device row.

torch.compile itself is replaced by a stand-in module here (its real build is
tests/test_sd_compile.py's slow test): what is checked is the wiring, and that a
machine without a C++ compiler (inductor's own exception) draws the uncompiled pixels
and records why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.api.events import Progress
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.context import JobContext
from engine.models.sd import compiled
from tests.compile_support import CompileStandIn


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(compiled, "compile_unet", CompileStandIn)
    monkeypatch.setattr(compiled, "compiler_missing", lambda: "")
    CompileStandIn.calls = 0


def request(model: Path) -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a cat"),
        size=Size(64, 64),
        sampling=Sampling(steps=2, sampler=None, seed=3),
    )


def run(model: Path, compile_unet: bool) -> tuple[np.ndarray, dict, list[str], str]:
    """The picture, its recipe, the job's messages and the status bar's text."""
    from engine.runtime import Runtime

    messages: list[str] = []

    def emit(event) -> None:
        if isinstance(event, Progress) and event.message:
            messages.append(event.message)

    runtime = Runtime(device_preference="cpu", precision="fp32", compile=compile_unet)
    try:
        image = runtime.run(request(model), JobContext(1, emit=emit, previews=False)).images[0]
        status = runtime.device_info().description
    finally:
        runtime.close()
    return image.rgb, image.info, messages, status


def test_a_compiled_job_says_so_while_compiling_and_records_it(tiny_sd_model, stand_in):
    plain, plain_info, plain_messages, plain_status = run(tiny_sd_model, False)
    rgb, info, messages, status = run(tiny_sd_model, True)
    assert CompileStandIn.calls > 0  # the stand-in ran the UNet
    np.testing.assert_array_equal(rgb, plain)  # the stand-in computes the same numbers
    assert compiled.COMPILING_MESSAGE in messages
    assert compiled.COMPILING_MESSAGE not in plain_messages
    assert info["compiled"] is True and compiled.COMPILED_NOTE in info["notes"]
    assert "compiled" not in plain_info  # not asked for: nothing said
    assert status == f"{plain_status} · compiled UNet"


def test_without_a_cpp_compiler_the_job_runs_eagerly_and_says_why(tiny_sd_model, monkeypatch):
    import torch._inductor.cpp_builder as cpp_builder
    from torch._inductor.exc import InvalidCxxCompiler

    def no_compiler():
        raise InvalidCxxCompiler()

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    plain = run(tiny_sd_model, False)[0]
    rgb, info, messages, status = run(tiny_sd_model, True)
    assert status.endswith(" · not compiled")
    np.testing.assert_array_equal(rgb, plain)
    assert info["compiled"] is False
    assert any("No working C++ compiler" in note for note in info["notes"])
    assert compiled.COMPILING_MESSAGE not in messages


def test_inductors_cache_goes_to_the_apps_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTSTUDIO_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(compiled.CACHE_ENV, raising=False)
    assert compiled.use_app_cache_dir() == tmp_path / "inductor"
    assert os.environ[compiled.CACHE_ENV] == str(tmp_path / "inductor")
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path / "mine"))  # the user's own wins
    assert compiled.use_app_cache_dir() == tmp_path / "mine"


def test_compile_is_a_cli_option_of_generate_and_batch():
    from engine.commands import build_parser

    parser = build_parser()
    common = ["--model", "m", "--prompt", "p", "--out", "o"]
    assert parser.parse_args(["generate", *common, "--compile"]).compile is True
    assert parser.parse_args(["generate", *common]).compile is False
    assert parser.parse_args(["batch", "jobs.txt", "--out", "o", "--compile"]).compile is True


def test_the_details_device_row_names_the_compiled_unet():
    from gui.details_describe import _device_text

    recipe = {"device": "cpu", "precision": "fp32"}
    assert _device_text(recipe) == "cpu · fp32"
    assert _device_text(recipe | {"compiled": True}) == "cpu · fp32 · compiled UNet"
    assert _device_text(recipe | {"compiled": False}) == "cpu · fp32 · not compiled"
    json.dumps(recipe)  # the recipe stays plain JSON


def test_settings_offer_compiling_off_by_default_and_save_the_choice(qtbot, settings):
    from gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert not dialog.compile_unet.isChecked() and settings.compile_unet is False
    assert "minutes" in dialog.compile_unet.toolTip()  # the warm-up is said up front
    dialog.compile_unet.setChecked(True)
    dialog.apply()
    assert settings.compile_unet is True


def test_the_engine_hands_the_choice_to_its_runtime_and_the_status_bar(stand_in):
    from types import SimpleNamespace

    from engine.local_engine import default_runtime

    client = SimpleNamespace(
        gallery=None,
        device_preference="cpu",
        precision_preference="fp32",
        offload_preference="auto",
        compile_preference=True,
    )
    runtime = default_runtime(client)
    try:
        assert runtime.device_info().description.endswith(" · compiled UNet")
        assert "compiled" not in runtime.set_compile_preference(False).description
        assert runtime.env.compile is False
    finally:
        runtime.close()
