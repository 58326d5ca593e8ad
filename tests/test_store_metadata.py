"""What a gallery PNG says about itself: the recipe (one per image of a batch, with its own
seed), A1111's parameters text as A1111 writes and reads it, and other tools' images."""

# ruff: noqa: F811 - the store fixture comes from test_store
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import SampleRequest, Txt2ImgRequest
from engine.store import parse_parameters, read_metadata
from engine.store.metadata import RECIPE_KEY
from tests.test_store import A1111_SAMPLE, SHA, pixels, sd, store, txt2img_batch  # noqa: F401

# ---------------------------------------------------------------- metadata


def test_batch_recipes_parse_back_to_the_request_with_their_own_seed(store) -> None:
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "models/sd15.safetensors"),
        prompt=Prompt("a red fox, in the snow\nwide shot", "blurry, lowres"),
        size=Size(24, 16),
        sampling=Sampling(steps=12, cfg_scale=6.5, seed=100, sampler="Euler a"),
        batch_size=3,
    )
    for image in txt2img_batch(request):
        path = store.save(image, request)
        meta = read_metadata(path)
        assert meta.request == request
        assert meta.seed == image.seed and meta.index == image.index
        assert meta.recipe["version"] == 2
        assert meta.recipe["model_sha256"] == SHA and meta.recipe["device"] == "cpu"
        assert (meta.kind, meta.width, meta.height) == ("txt2img", 24, 16)
        assert path.name.startswith(f"{image.index + 1:05d}-{image.seed}-a-red-fox")

        text = meta.parameters_text
        assert text.startswith("a red fox, in the snow\nwide shot\nNegative prompt: blurry")
        assert f"Seed: {image.seed}," in text
        assert "Sampler: Euler a" in text and "Model hash: 6ce0161689" in text
        params = meta.parameters
        assert params["prompt"] == request.prompt.positive
        assert params["negative_prompt"] == request.prompt.negative
        assert (params["steps"], params["cfg_scale"], params["seed"]) == (12, 6.5, image.seed)
        assert (params["width"], params["height"], params["model"]) == (24, 16, "sd15")
        np.testing.assert_array_equal(np.asarray(Image.open(path)), image.rgb)


def test_the_models_own_scheduler_is_written_by_its_a1111_name(store) -> None:
    request = sd("fox", 1)  # sampler None
    image = txt2img_batch(request)[0]
    image.info["sampler"] = "PNDMScheduler"  # what the SD runner reports for the default
    text = read_metadata(store.save(image, request)).parameters_text
    assert "Sampler: PLMS," in text


def test_a_folder_model_has_no_a1111_model_hash_but_keeps_ours_in_the_recipe(store) -> None:
    request = sd("fox", 3)
    meta = read_metadata(store.save(txt2img_batch(request, hash_kind="folder")[0], request))
    assert "Model hash" not in meta.parameters_text and "Model: sd15" in meta.parameters_text
    assert meta.recipe["model_sha256"] == SHA and meta.recipe["model_hash_kind"] == "folder"


def test_classic_samples_have_no_prompt_in_parameters(store) -> None:
    request = SampleRequest(model=ModelRef(Family.VAE, "vae-digits"), seed=7, count=2)
    image = ResultImage(pixels(1, 28, 28), 8, 1, {"model": "vae-digits"})
    path = store.save(image, request)
    meta = read_metadata(path)
    assert meta.request == request and meta.seed == 8 and meta.kind == "sample"
    assert meta.parameters_text.startswith("Seed: 8, Size: 28x28, Model: vae-digits")
    assert "Steps" not in meta.parameters_text
    assert meta.parameters["prompt"] == "" and meta.parameters["seed"] == 8
    assert path.name.endswith("-8-vae-digits.png")


def test_a1111_parameters_as_a1111_writes_them() -> None:
    params = parse_parameters(A1111_SAMPLE)
    assert params["prompt"] == (
        "masterpiece, best quality, a red fox\nsitting in the snow, (cinematic lighting:1.2)"
    )
    assert params["negative_prompt"] == "lowres, bad anatomy\nwatermark"
    assert params["steps"] == 28 and params["cfg_scale"] == 7.5
    assert params["sampler"] == "DPM++ 2M" and params["schedule_type"] == "Karras"
    assert params["seed"] == 1234567890
    assert (params["width"], params["height"]) == (512, 768)
    assert params["model"] == "v1-5-pruned-emaonly" and params["model_hash"] == "6ce0161689"
    assert params["lora_hashes"] == "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef"
    assert params["version"] == "v1.10.1"


@pytest.mark.parametrize(
    "text",
    ["", "\x00\xff junk", "only a prompt", "Steps: many, Seed: 12x, Size: big, CFG scale: ?"],
)
def test_a1111_parser_survives_junk(text: str) -> None:
    params = parse_parameters(text)
    assert isinstance(params["prompt"], str)
    assert not {"steps", "seed", "width", "cfg_scale"} & params.keys()


def test_other_tools_images_are_read_and_indexed(store) -> None:
    store.root.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_SAMPLE)
    outside = store.root / "from-a1111" / "00001-1234567890.png"
    outside.parent.mkdir()
    Image.fromarray(pixels(3, 12, 10)).save(outside, pnginfo=info)
    (store.root / "broken.png").write_bytes(b"\x89PNG not really")

    assert store.rebuild() == 1
    [item] = store.items()
    assert (item.path, item.kind, item.seed, item.model) == (
        outside,
        "external",
        1234567890,
        "v1-5-pruned-emaonly",
    )
    assert (item.width, item.height) == (10, 12) and item.prompt.startswith("masterpiece")
    meta = store.metadata(outside)
    assert meta.recipe is None and meta.request is None and meta.parameters["steps"] == 28


def test_damaged_recipe_falls_back_to_parameters(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_SAMPLE)
    info.add_text(RECIPE_KEY, "{not json")
    path = tmp_path / "x.png"
    Image.fromarray(pixels(4)).save(path, pnginfo=info)
    meta = read_metadata(path)
    assert meta.kind == "external" and meta.seed == 1234567890
