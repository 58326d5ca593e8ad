"""Create's few-step note and tiny-decoder choice (gui.viewmodels.fast, gui.fast_section):
the suggestion is offered, applied only on request, and the request carries it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.library.detect import SdFamily
from engine.library.tiny_vaes import tiny_vae_for
from gui.viewmodels.create import CreateViewModel


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    """An A1111 models folder: checkpoints, and TAESD decoders in VAE-approx."""
    models = tmp_path / "models"
    (models / "Stable-diffusion").mkdir(parents=True)
    (models / "VAE-approx").mkdir()
    for name in ("taesd_decoder.pt", "taesdxl_decoder.pt", "taesd_encoder.pt", "model.pt"):
        (models / "VAE-approx" / name).write_bytes(b"x")
    (models / "Stable-diffusion" / "lcm-lora-sdv1-5.safetensors").write_bytes(b"x")
    return models


def test_a1111_and_diffusers_tiny_decoders_are_found_per_family(folders, tmp_path):
    place = [folders / "Stable-diffusion"]
    assert tiny_vae_for(place, SdFamily.SD1) == folders / "VAE-approx" / "taesd_decoder.pt"
    assert tiny_vae_for(place, SdFamily.SDXL) == folders / "VAE-approx" / "taesdxl_decoder.pt"
    assert tiny_vae_for([tmp_path / "elsewhere"], SdFamily.SD1) is None
    comfy = tmp_path / "comfy" / "models"
    (comfy / "vae_approx" / "taesdxl").mkdir(parents=True)
    config = {"_class_name": "AutoencoderTiny"}
    (comfy / "vae_approx" / "taesdxl" / "config.json").write_text(json.dumps(config))
    (comfy / "checkpoints").mkdir()
    found = tiny_vae_for([comfy / "checkpoints"], SdFamily.SDXL)
    assert found == comfy / "vae_approx" / "taesdxl"
    assert tiny_vae_for([comfy / "checkpoints"], SdFamily.SD1) is None


def test_the_suggestion_is_offered_and_applied_only_on_request(folders):
    vm = CreateViewModel()
    vm.model.set(str(folders / "Stable-diffusion" / "lcm-lora-sdv1-5.safetensors"))
    found = vm.few_step()
    assert found is not None and found.kind.name == "LCM"
    assert (vm.steps.value, vm.cfg.value, vm.sampler.value) == (20, 7.0, "Model default")
    vm.use_suggested(found)
    request = vm.txt2img_request()
    s = request.sampling
    assert (s.sampler, s.steps, s.cfg_scale, s.spacing) == ("LCM", 6, 1.5, "")
    assert vm.few_step() is None  # the form says it now: no note


def test_a_trailing_suggestion_reaches_the_request_and_comes_back(folders):
    vm = CreateViewModel()
    path = folders / "Stable-diffusion" / "Hyper-SD15-4steps-lora.safetensors"
    path.write_bytes(b"x")
    vm.model.set(str(path))
    vm.use_suggested(vm.few_step())
    request = vm.txt2img_request()
    assert (request.sampling.sampler, request.sampling.spacing) == ("DDIM", "trailing")
    again = CreateViewModel()
    again.apply_request(request)
    assert again.txt2img_request().sampling.spacing == "trailing"


def test_the_tiny_decoder_goes_into_the_request_only_when_used(folders):
    vm = CreateViewModel()
    vm.fast.set_folders([folders / "Stable-diffusion"])
    assert "tiny_vae" not in vm.fast.parts(SdFamily.SD1)
    vm.fast.fast_decode.set(True)
    parts = vm.fast.parts(SdFamily.SD1)
    assert parts == {
        "tiny_vae": str(folders / "VAE-approx" / "taesd_decoder.pt"),
        "fast_decode": True,
    }
    vm.fast.set_folders([])
    assert vm.fast.parts(SdFamily.SD1) == {}  # none found: the model's VAE, as before
    vm.fast.spacing.set("trailing")
    later = CreateViewModel()
    later.restore(json.loads(json.dumps(vm.state())))
    assert later.fast.state() == {
        "spacing": "trailing",
        "preview": "Approximate",
        "fast_decode": True,
    }


def test_create_shows_the_note_and_its_button_fills_the_form(qtbot, folders):
    from gui.create_panel import CreatePanel

    panel = CreatePanel()
    qtbot.addWidget(panel)
    note = panel.few_step_note
    panel.vm.model.set(str(folders / "Stable-diffusion" / "lcm-lora-sdv1-5.safetensors"))
    qtbot.waitUntil(lambda: note.isVisibleTo(panel), timeout=3000)
    assert "LCM" in note.label.text() and "6 steps" in note.label.text()
    assert panel.steps.value() == 20  # shown, not applied
    note.use_button.click()
    assert (panel.steps.value(), panel.cfg.value(), panel.sampler.currentText()) == (6, 1.5, "LCM")
    assert not note.isVisibleTo(panel)
