"""One Stable Diffusion request from optional parts (issue 20): a source image, a mask,
control units and a hires pass on Txt2ImgRequest. Each part checks its own data; a
recipe round-trips with and without them; a recipe without them is written exactly as
release 0.1.0 wrote it; and the runner refuses control units with a sentence until it
draws them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, Hires, Mask, Outpaint, SourceImage
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import LatentWalkRequest, Txt2ImgRequest, request_from_dict
from engine.api.requests import request_to_dict as to_dict

RECIPES = Path(__file__).parent / "data" / "recipes"
SD = ModelRef(Family.SD, "/models/sd.safetensors")
PICTURE = ImageRef("2026-12-01/00001-a-fox.png", "ab" * 32)
CONTROL = ControlUnit(ModelRef(Family.SD, "/models/ControlNet/canny.safetensors"), PICTURE)


def request(**parts: object) -> Txt2ImgRequest:
    return Txt2ImgRequest(model=SD, **parts)


# ---------------------------------------------------------------- each part's checks


def test_a_request_with_every_image_part_is_valid():
    request(
        source=SourceImage(PICTURE, 0.6, resize_mode="crop-and-resize"),
        mask=Mask(PICTURE, blur=8, mode="unmasked", content="latent-noise", area="masked"),
        outpaint=Outpaint(left=64, bottom=32, fill="mirror"),
        control=(CONTROL, replace(CONTROL, weight=0.5, start=0.2, end=0.8)),
    ).validate()
    request(control=(CONTROL,), hires=Hires(scale=1.5, steps=10, denoise=0.4)).validate()


def test_hires_is_for_text_to_image_only():
    with pytest.raises(BadInput, match="Hires fix is a second pass for text to image"):
        request(source=SourceImage(PICTURE), hires=Hires()).validate()


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        ({"source": SourceImage(PICTURE, 1.01)}, "Strength must be between 0.0 and 1.0"),
        ({"source": SourceImage(PICTURE, -0.1)}, "Strength must be between"),
        ({"source": SourceImage(PICTURE, float("nan"))}, "Strength must be a finite number"),
        ({"source": SourceImage(ImageRef(" ", ""))}, "The source image is not chosen"),
        ({"mask": Mask(PICTURE)}, "choose the image too"),
        ({"source": SourceImage(PICTURE), "mask": Mask(PICTURE, blur=257)}, "Mask blur"),
        ({"source": SourceImage(PICTURE), "mask": Mask(PICTURE, blur=-1)}, "Mask blur"),
        ({"source": SourceImage(PICTURE), "mask": Mask(PICTURE, mode="edges")}, "masked, unmasked"),
        ({"source": SourceImage(PICTURE), "mask": Mask(ImageRef("", ""))}, "The mask is not"),
        ({"control": (replace(CONTROL, weight=2.5),)}, "A control unit's weight"),
        ({"control": (replace(CONTROL, weight=float("inf")),)}, "finite"),
        ({"control": (replace(CONTROL, start=-0.5),)}, "start and end must be between"),
        ({"control": (replace(CONTROL, end=1.5),)}, "start and end must be between"),
        ({"control": (replace(CONTROL, start=0.7, end=0.3),)}, "must start before it ends"),
        ({"control": (replace(CONTROL, model=ModelRef(Family.SD, "")),)}, "Choose a Stable"),
        (
            {"control": (replace(CONTROL, model=ModelRef(Family.VAE, "v")),)},
            "must be Stable Diffusion, not VAE",
        ),
        ({"control": (CONTROL,) * 9}, "The number of control units must be between 0 and 8"),
        ({"hires": Hires(scale=0.5)}, "Hires scale must be between 1.0 and 4.0"),
        ({"hires": Hires(scale=float("nan"))}, "Hires scale must be a finite number"),
        ({"hires": Hires(steps=1001)}, "Hires steps"),
        ({"hires": Hires(denoise=1.5)}, "Hires denoising strength"),
        (
            {"hires": Hires(upscaler=ModelRef(Family.SD, "x"))},
            "must be Upscaler, not Stable Diffusion",
        ),
    ],
)
def test_each_part_refuses_what_is_out_of_bounds_with_a_sentence(parts, words):
    with pytest.raises(BadInput) as refused:
        request(**parts).validate()
    assert words in refused.value.message


@pytest.mark.parametrize(
    ("parts", "where"),
    [
        ({"source": SourceImage(PICTURE, "strong")}, "Txt2ImgRequest.source.strength must be"),  # type: ignore[arg-type]
        ({"mask": Mask(PICTURE, blur=2.5)}, "Txt2ImgRequest.mask.blur must be a whole"),  # type: ignore[arg-type]
        ({"control": [CONTROL]}, "Txt2ImgRequest.control must be a tuple"),
        ({"control": (PICTURE,)}, "Txt2ImgRequest.control[0] must be ControlUnit"),
        ({"hires": Hires(steps=True)}, "Txt2ImgRequest.hires.steps must be a whole"),  # type: ignore[arg-type]
        ({"source": 0.5}, "Txt2ImgRequest.source must be SourceImage or empty"),
    ],
)
def test_parts_of_the_wrong_type_are_refused_before_any_check(parts, where):
    with pytest.raises(BadInput, match=re.escape(where)):
        request(**parts).validate()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"source": {"image": {"path": "a.png", "sha256": ""}, "strength": "0.5"}}, "strength"),
        ({"mask": {"image": {"path": "a.png", "sha256": ""}, "blur": 2.5}}, "blur"),
        ({"control": {"model": {}}}, "control must be a list"),
        ({"control": [{"image": {"path": "a.png", "sha256": ""}}]}, "has no model"),
        ({"hires": {"steps": True}}, "hires.steps"),
    ],
)
def test_a_recipe_with_parts_of_the_wrong_type_is_refused_naming_the_field(data, where):
    recipe = {**to_dict(request()), **data}
    with pytest.raises(BadInput, match=where):
        request_from_dict(recipe)


def test_a_part_naming_a_family_this_version_lacks_reads_and_is_refused_when_checked():
    # An open key: a newer version's recipe reads; validation says what is missing.
    recipe = {**to_dict(request()), "hires": {"upscaler": {"family": "nosuch", "id": "x"}}}
    made = request_from_dict(recipe)
    with pytest.raises(BadInput, match="no model family 'nosuch'"):
        made.validate()


def test_a_latent_walk_takes_no_parts():
    walk = LatentWalkRequest(model=SD, hires=Hires())
    with pytest.raises(BadInput, match="latent walk starts from noise alone"):
        walk.validate()


# ---------------------------------------------------------------- recipes


def test_a_recipe_with_every_part_round_trips():
    made = request(
        source=SourceImage(PICTURE, 0.35),
        mask=Mask(PICTURE, blur=0, mode="unmasked"),
        control=(CONTROL, replace(CONTROL, weight=0.25, start=0.1, end=0.9)),
    )
    made = replace(
        made, hires=Hires(2.5, 12, 0.3, ModelRef(Family.UPSCALE, "/models/ESRGAN/4x.pth"))
    )  # replace() skips the checks that refuse hires with a source: this is a recipe test
    data = json.loads(json.dumps(to_dict(made)))
    # The oracle: the JSON as written out by hand, not the serializer's own reading.
    assert data["source"] == {
        "image": {"path": PICTURE.path, "sha256": PICTURE.sha256},
        "strength": 0.35,
        "resize_mode": "just-resize",
    }
    assert data["mask"] == {
        "image": {"path": PICTURE.path, "sha256": PICTURE.sha256},
        "blur": 0,
        "mode": "unmasked",
        "content": "original",
        "area": "whole",
        "padding": 32,
        "grow": 0,
        "colour_match": False,
        "composite": True,
    }
    assert [unit["weight"] for unit in data["control"]] == [1.0, 0.25]
    assert data["control"][1]["start"] == 0.1 and data["control"][1]["end"] == 0.9
    assert data["hires"] == {
        "scale": 2.5,
        "steps": 12,
        "denoise": 0.3,
        "upscaler": {"family": "upscale", "id": "/models/ESRGAN/4x.pth"},
    }
    again = request_from_dict(data)
    assert again == made and hash(again) == hash(made)


def test_a_recipe_without_parts_round_trips_and_names_none_of_them():
    made = request(prompt=request().prompt)
    data = json.loads(json.dumps(to_dict(made)))
    assert not {"source", "mask", "control", "hires"} & set(data)
    assert request_from_dict(data) == made


def test_an_old_recipe_is_written_again_exactly_as_release_0_1_0_wrote_it(monkeypatch):
    """The fixture's PNG text, parameters and recipe alike, character for character."""
    from engine.store import metadata

    chunks = json.loads((RECIPES / "txt2img.json").read_text(encoding="utf-8"))
    recipe = json.loads(chunks["latentstudio"])
    old = request_from_dict(recipe["request"])
    assert isinstance(old, Txt2ImgRequest) and not old.has_parts
    monkeypatch.setattr(metadata, "app_version", lambda: "0.1.0")
    info = {k: recipe[k] for k in ("model", "model_sha256", "device")}
    image = ResultImage(np.zeros((8, 8, 3), np.uint8), recipe["seed"], recipe["index"], info)
    created = datetime.fromisoformat(recipe["created"])
    assert metadata.png_text(image, old, created) == chunks


# ---------------------------------------------------------------- the runner, for now


def test_the_runner_refuses_no_part_now():
    from engine.models.sd.later_parts import refuse_later_parts

    refuse_later_parts(request())  # no part: nothing to refuse
    refuse_later_parts(request(control=(CONTROL,)))  # control units are drawn
    refuse_later_parts(request(source=SourceImage(PICTURE)))  # image to image is drawn
    refuse_later_parts(request(hires=Hires()))  # and so is hires fix
    masked = {"source": SourceImage(PICTURE), "mask": Mask(PICTURE)}
    refuse_later_parts(request(**masked))  # and inpainting
    refuse_later_parts(request(source=SourceImage(PICTURE), outpaint=Outpaint(left=8)))


# ---------------------------------------------------------------- control (issue 22)


@pytest.mark.parametrize(
    ("unit", "words"),
    [
        (replace(CONTROL, preprocessor="hed"), "Preprocessor 'hed' is not one of: none, invert"),
        (replace(CONTROL, mode="strong"), "Control mode 'strong' is not one of"),
        (replace(CONTROL, resize_mode="fit"), "A control unit's resize mode 'fit'"),
        (replace(CONTROL, settings=(("low", float("inf")),)), "must be a finite number"),
    ],
)
def test_a_control_units_preprocessor_and_modes_are_checked(unit, words):
    with pytest.raises(BadInput, match=re.escape(words)):
        request(control=(unit,)).validate()


def test_an_ip_adapter_is_a_part_and_is_not_refused():
    from engine.api.image_parts import IpAdapter
    from engine.models.sd.later_parts import refuse_later_parts

    adapter = IpAdapter(
        ModelRef(Family.SD, "/models/ipadapter/ip-adapter_sd15.safetensors"), PICTURE
    )
    made = request(ip_adapters=(adapter,))
    made.validate()
    assert made.has_parts and request_from_dict(to_dict(made)) == made
    refuse_later_parts(made)  # drawn (tests/test_ip_adapter.py)
    with pytest.raises(BadInput, match="An IP-Adapter's weight must be between"):
        request(ip_adapters=(replace(adapter, weight=3.0),)).validate()
    unit = replace(CONTROL, preprocessor="canny", settings=(("low", 100.0), ("high", 200.0)))
    assert unit.setting("high", 0.0) == 200.0 and unit.setting("sigma", 1.5) == 1.5
