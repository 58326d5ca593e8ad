"""A sample's family options are their own part: of the class the family's spec names,
refused with a sentence when they are another family's, written into the recipe as plain
fields (read back as the family's class), and read from recipes written before."""

from __future__ import annotations

import json

import pytest

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest, request_from_dict, request_to_dict
from engine.api.sample_options import DiffusionSampleOptions, LatentSampleOptions, SampleOptions
from tests.toy_family import toy_family

GAN = ModelRef(Family.GAN, "gan-shapes")
VAE = ModelRef(Family.VAE, "vae-digits")
DDPM = ModelRef(Family.DDPM, "ddpm-shapes")


def test_a_gan_asked_for_diffusion_options_is_refused_with_a_sentence():
    request = SampleRequest(model=GAN, count=1, options=DiffusionSampleOptions(steps=20))
    with pytest.raises(BadInput) as refused:
        request.validate()
    sentence = str(refused.value)
    assert sentence.startswith("A GAN model takes no steps, label, guidance or eta")
    assert "DDPM" in sentence and "latent" in sentence and sentence.endswith(".")


def test_the_plain_options_mean_the_familys_defaults():
    assert SampleRequest(model=DDPM).options == DiffusionSampleOptions(steps=50, eta=0.0)
    assert SampleRequest(model=VAE).options == LatentSampleOptions(latent=None)
    SampleRequest(model=DDPM, count=2, options=SampleOptions()).validate()


@pytest.mark.parametrize(
    ("request_", "written"),
    [
        (
            SampleRequest(
                model=DDPM,
                seed=4,
                count=3,
                options=DiffusionSampleOptions(steps=12, label=3, guidance=2.5, eta=0.25),
            ),
            {"steps": 12, "label": 3, "guidance": 2.5, "eta": 0.25},
        ),
        (
            SampleRequest(
                model=VAE, seed=6, count=1, options=LatentSampleOptions(latent=(0.5,) * 4)
            ),
            {"latent": [0.5, 0.5, 0.5, 0.5]},
        ),
        (SampleRequest(model=GAN, seed=8, count=2, grid=True), {"latent": None}),
    ],
    ids=["ddpm", "vae", "gan"],
)
def test_each_familys_sample_request_round_trips_with_its_options(request_, written):
    data = json.loads(json.dumps(request_to_dict(request_)))
    assert data["options"] == written  # plain fields: the family says which class
    back = request_from_dict(data)
    assert back == request_
    assert type(back.options) is type(request_.options)


def test_a_new_familys_own_options_are_read_as_its_specs_class(tmp_path):
    with toy_family(tmp_path, runners=False):
        data = {"type": "sample", "model": {"family": "toy", "id": "t"}, "options": {"spread": 2}}
        options = request_from_dict(data).options
        assert type(options).__name__ == "DotsSampleOptions"
        assert options.spread == 2.0  # type: ignore[attr-defined]


# Recipes as the releases before issue 20 wrote them: every family's options flat.
OLD = """{"type": "sample", "model": {"family": "%s", "id": "%s"}, "seed": 7, "count": %d,
"save": true, "grid": false, "steps": %d, "label": %s, "guidance": %s, "eta": %s,
"latent": %s}"""


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (
            OLD % ("ddpm", "ddpm-shapes", 9, 40, "2", "3.0", "0.5", "null"),
            DiffusionSampleOptions(steps=40, label=2, guidance=3.0, eta=0.5),
        ),
        (
            OLD % ("vae", "vae-digits", 1, 50, "null", "null", "0.0", "[0.25, -1.5]"),
            LatentSampleOptions(latent=(0.25, -1.5)),
        ),
        (
            OLD % ("gan", "gan-shapes", 4, 50, "null", "null", "0.0", "null"),
            LatentSampleOptions(latent=None),
        ),
    ],
    ids=["ddpm", "vae", "gan"],
)
def test_an_old_flat_sample_recipe_reads_into_its_familys_options(text, options):
    request = request_from_dict(json.loads(text))
    assert isinstance(request, SampleRequest)
    assert request.options == options
    assert request.seed == 7
