"""Re-making a picture pins the precision its recipe recorded: a bf16 picture is made
again in bf16 on a machine whose default is now fp32, and a precision this device
cannot compute (fp16 on a CPU) is named in a sentence with what was used instead.

Oracles: the saved picture's own pixels (made again, they must be the same bytes, on
this machine, in this batch), bare diffusers in bf16, and literal recipe JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.baselines import bare_diffusers_txt2img
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest, request_from_dict
from engine.context import JobContext
from engine.models.sd.tiny import build_tiny_pipeline
from engine.store.metadata import metadata_from_text


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd") / "model")


def request(model: Path, precision: str = "") -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a red boat", "blurry"),
        size=Size(64, 64),
        sampling=Sampling(steps=3, cfg_scale=7.0, sampler=None, seed=4321),
        precision=precision,
    )


def recipe_text(precision: str | None, dtype: str = "float32") -> dict[str, str]:
    req = {"type": "txt2img", "model": {"family": "sd", "id": "m"}, "prompt": {"positive": "x"}}
    recipe = {"version": 2, "request": req, "seed": 1, "index": 0, "dtype": dtype}
    if precision is not None:
        recipe["precision"] = precision
    return {"latentstudio": json.dumps(recipe)}


@pytest.mark.parametrize(
    ("precision", "dtype", "pinned"),
    [
        ("bf16", "bfloat16", "bf16"),
        ("fp32", "float32", "fp32"),
        (None, "float16", "fp16"),  # a recipe from before `precision`: its dtype says
        (None, "uint8", ""),  # nothing a pipeline computes in: not pinned
    ],
)
def test_reopening_a_recipe_pins_its_recorded_precision(precision, dtype, pinned):
    meta = metadata_from_text(recipe_text(precision, dtype), 64, 64)
    reopened, sentence = meta.reproduce()
    assert meta.request.precision == ""  # the recipe as written is left as it was
    assert reopened.precision == pinned
    assert (pinned in sentence) if pinned else sentence == ""


def test_a_precision_the_app_does_not_know_is_refused_in_a_sentence():
    bad = request(Path("m"), "int8")
    with pytest.raises(BadInput, match="fp32, bf16, fp16"):
        bad.check()
    data = bad.to_dict() | {"precision": "bf16"}
    assert request_from_dict(data).precision == "bf16"  # and it travels in the recipe


def run(precision_default: str, req: Txt2ImgRequest):
    from engine.runtime import Runtime

    runtime = Runtime(device_preference="cpu", precision=precision_default)
    try:
        return runtime.run(req, JobContext(1, previews=False)).images[0]
    finally:
        runtime.close()


def test_a_bf16_picture_is_made_again_in_bf16_when_the_default_is_fp32(tiny_model, tmp_path):
    import main

    code = main.main(
        ["generate", "--model", str(tiny_model), "--prompt", "a red boat", "--seed", "4321"]
        + ["--steps", "3", "--width", "64", "--height", "64", "--precision", "bf16"]
        + ["--out", str(tmp_path)]
    )
    assert code == 0
    [saved] = list(tmp_path.rglob("*.png"))
    from engine.store import read_metadata

    reopened, sentence = read_metadata(saved).reproduce()
    assert reopened.precision == "bf16" and "bf16" in sentence
    again = run("fp32", reopened)  # this machine's default is now full precision
    assert (again.info["precision"], again.info["dtype"]) == ("bf16", "bfloat16")
    assert any("as the reopened picture was" in note for note in again.info["notes"])
    np.testing.assert_array_equal(again.rgb, np.asarray(Image.open(saved).convert("RGB")))


def test_a_pinned_bf16_draws_as_bare_diffusers_bf16(tiny_model):
    req = request(tiny_model, "bf16")
    image = run("fp32", req)
    expected = bare_diffusers_txt2img(
        tiny_model,
        prompt=req.prompt.positive,
        negative_prompt=req.prompt.negative,
        width=64,
        height=64,
        steps=3,
        cfg_scale=7.0,
        seed=4321,
        dtype=torch.bfloat16,
    )
    np.testing.assert_array_equal(image.rgb, expected[0])


def test_fp16_on_the_cpu_says_what_was_used_instead(tiny_model):
    image = run("fp32", request(tiny_model, "fp16"))
    assert (image.info["precision"], image.info["dtype"]) == ("fp32", "float32")
    [note] = [n for n in image.info["notes"] if "fp16" in n]
    assert "does not compute" in note and "fp32 was used" in note


def test_no_pin_is_the_machines_own_path_without_a_note(tiny_model):
    image = run("fp32", request(tiny_model))
    assert image.info["precision"] == "fp32" and "notes" not in image.info


def test_create_keeps_the_pin_until_another_model_is_chosen():
    from gui.viewmodels.create import CreateViewModel

    vm = CreateViewModel()
    vm.apply_request(request(Path("/models/a.safetensors"), "bf16"))
    assert vm.txt2img_request().precision == "bf16"
    vm.steps.set(5)  # other settings change: still a reproduction in its precision
    assert vm.txt2img_request().precision == "bf16"
    vm.model.set("/models/b.safetensors")
    assert vm.txt2img_request().precision == ""
    vm.apply_request(request(Path("/models/a.safetensors"), "bf16"))
    vm.apply_parameters({"prompt": "another tool's picture"})
    assert vm.txt2img_request().precision == ""
