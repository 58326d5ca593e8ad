"""Create's and the Lab's view-models without widgets: the requests they build, Use these
parameters (apply_request) round trips, settings state, and snapping sizes."""

from __future__ import annotations

import pytest

from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import LatentWalkRequest, SampleRequest, Txt2ImgRequest
from engine.api.sample_options import DiffusionSampleOptions, LatentSampleOptions
from gui.viewmodels.create import CreateViewModel
from gui.viewmodels.lab import LabViewModel

MODEL = "/models/dream.safetensors"
DDPM = ModelRef(Family.DDPM, "ddpm-digits")
VAE = ModelRef(Family.VAE, "vae-digits")
DIFFUSION = DiffusionSampleOptions(steps=30, label=3, guidance=1.5)
DIGITS = [str(d) for d in range(10)]


@pytest.fixture(autouse=True)
def app(qapp):
    """pytest-qt's one QApplication for the session (a QCoreApplication made here would
    leave later widget tests without one)."""
    return qapp


def a_txt2img() -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, MODEL),
        prompt=Prompt("a red fox, snow", "blurry"),
        size=Size(640, 448),
        sampling=Sampling(steps=30, cfg_scale=6.5, sampler="DPM++ 2M Karras", seed=1234),
        clip_skip=2,
        vae="/vae/sharp.safetensors",
        prediction="v",
        variation_seed=99,
        variation_strength=0.25,
    )


def a_walk() -> LatentWalkRequest:
    return LatentWalkRequest(
        model=ModelRef(Family.SD, MODEL),
        prompt=Prompt("a lighthouse", ""),
        size=Size(512, 768),
        sampling=Sampling(steps=12, cfg_scale=4.0, sampler=None, seed=7),
        to_seed=77,
        to_prompt="a lighthouse at night",
        frames=12,
        mode="lerp",
        grid=True,
    )


# ---------------------------------------------------------------- Create


def test_the_form_builds_the_request_its_fields_say():
    vm = CreateViewModel()
    vm.model.set(MODEL)
    vm.prompt.set("  a cat  ")
    vm.negative.set("dogs ")
    vm.width.set(768)
    vm.height.set(512)
    vm.steps.set(25)
    vm.cfg.set(5.0)
    vm.sampler.set("Euler a")
    vm.seed.set("42")
    vm.batch.set(3)
    assert vm.build_request() == Txt2ImgRequest(
        model=ModelRef(Family.SD, MODEL),
        prompt=Prompt("a cat", "dogs"),
        size=Size(768, 512),
        sampling=Sampling(steps=25, cfg_scale=5.0, sampler="Euler a", seed=42),
        batch_size=3,
    )


def test_model_default_sampler_is_none_and_the_walk_makes_a_walk_request():
    vm = CreateViewModel()
    vm.model.set(MODEL)
    vm.seed.set("5")
    vm.walk.set(True)
    vm.to_seed.set("6")
    vm.to_prompt.set(" a dog ")
    request = vm.build_request()
    assert request == LatentWalkRequest(
        model=ModelRef(Family.SD, MODEL),
        sampling=Sampling(steps=20, cfg_scale=7.0, sampler=None, seed=5),
        to_seed=6,
        to_prompt="a dog",
        frames=8,
        mode="slerp",
        grid=True,
    )
    assert vm.txt2img_request() == Txt2ImgRequest(
        model=ModelRef(Family.SD, MODEL), sampling=Sampling(steps=20, cfg_scale=7.0, seed=5)
    )


def test_an_empty_seed_is_drawn_afresh_and_no_variation_means_variation_seed_0():
    vm = CreateViewModel()
    vm.variation_seed.set("123")  # ignored: the strength is 0
    request = vm.build_request()
    assert 0 <= request.sampling.seed < 2**32 and request.variation_seed == 0


@pytest.mark.parametrize("request_", [a_txt2img(), a_walk()], ids=["txt2img", "walk"])
def test_use_these_parameters_then_generate_gives_the_same_request(request_):
    vm = CreateViewModel()
    vm.apply_request(request_)
    assert vm.build_request() == request_


def test_a_txt2img_after_a_walk_turns_the_walk_off_and_one_images_seed_wins():
    vm = CreateViewModel()
    vm.apply_request(a_walk())
    vm.apply_request(a_txt2img(), seed=1236)
    request = vm.build_request()
    assert type(request) is Txt2ImgRequest and request.sampling.seed == 1236


def test_vae_and_prediction_are_remembered_per_model():
    vm = CreateViewModel()
    vm.model.set("/a")
    vm.vae.set("/vae/a.safetensors")
    vm.model.set("/b")
    assert (vm.vae.value, vm.prediction.value) == ("", "")
    vm.prediction.set("epsilon")
    vm.model.set("/a")
    assert (vm.vae.value, vm.prediction.value) == ("/vae/a.safetensors", "")
    assert vm.model_settings == {
        "/a": {"vae": "/vae/a.safetensors", "prediction": ""},
        "/b": {"vae": "", "prediction": "epsilon"},
    }


def test_a1111_parameters_fill_what_they_say():
    vm = CreateViewModel()
    vm.batch.set(4)
    vm.apply_parameters(
        {
            "prompt": "a boat",
            "steps": 33,
            "sampler": "DPM++ 2M",
            "schedule_type": "Karras",
            "seed": 77,
            "cfg_scale": 6,
            "width": 832,
        }
    )
    state = vm.state()
    assert (state["prompt"], state["steps"], state["sampler"]) == ("a boat", 33, "DPM++ 2M Karras")
    assert (state["seed"], state["cfg"], state["width"], state["height"]) == ("77", 6.0, 832, 512)
    assert state["batch"] == 1


def test_create_state_restores_into_a_fresh_view_model():
    vm = CreateViewModel()
    vm.apply_request(a_txt2img())
    vm.source.strength.set(0.4)  # starting from an image: its options are remembered
    state = vm.state()
    assert state.pop("source") == {
        **CreateViewModel().source.state(),
        "strength": 0.4,
    }
    assert state.pop("fast") == CreateViewModel().fast.state()  # speed: its own test
    assert state == {
        "prompt": "a red fox, snow",
        "negative": "blurry",
        "width": 640,
        "height": 448,
        "steps": 30,
        "cfg": 6.5,
        "sampler": "DPM++ 2M Karras",
        "seed": "1234",
        "batch": 1,
        "clip_skip": 2,
        "model_settings": {MODEL: {"vae": "/vae/sharp.safetensors", "prediction": "v"}},
    }
    fresh = CreateViewModel()
    fresh.restore({**state, "source": {"strength": 0.4}})
    assert fresh.state() == {**state, "source": vm.source.state(), "fast": vm.fast.state()}


def test_restore_ignores_what_it_cannot_read():
    vm = CreateViewModel()
    vm.restore({"sampler": "No such sampler", "width": "wide"})
    assert (vm.sampler.value, vm.width.value) == ("Model default", 512)


@pytest.mark.parametrize(
    ("size", "odd", "snapped"),
    [
        ((512, 768), [], (512, 768)),
        ((500, 768), [("Width", 500)], (504, 768)),
        ((513, 510), [("Width", 513), ("Height", 510)], (512, 512)),
        ((4, 1023), [("Width", 4), ("Height", 1023)], (8, 1024)),
    ],
)
def test_snap_size(size, odd, snapped):
    vm = CreateViewModel()
    vm.width.set(size[0])
    vm.height.set(size[1])
    assert vm.odd_sides() == odd
    vm.snap_size()
    assert (vm.width.value, vm.height.value) == snapped


# ---------------------------------------------------------------- Lab


def a_lab() -> LabViewModel:
    vm = LabViewModel()
    vm.set_models([VAE, DDPM])
    return vm


def test_the_first_model_is_chosen_and_a_vae_sheet_has_no_diffusion_options():
    vm = a_lab()
    vm.seed.set("10")
    vm.steps.set(80)
    assert vm.model.value == VAE
    assert vm.sample_request() == SampleRequest(
        model=VAE, seed=10, count=16, grid=True, options=LatentSampleOptions(latent=None)
    )


def test_a_ddpm_sheet_takes_steps_class_and_guidance():
    vm = a_lab()
    vm.select_model("ddpm-digits")
    vm.describe_model(DIGITS, 1.25)
    vm.seed.set("3")
    vm.count.set(9)
    vm.steps.set(30)
    vm.label.set(7)
    assert vm.sample_request() == SampleRequest(
        model=DDPM,
        seed=3,
        count=9,
        grid=True,
        options=DiffusionSampleOptions(steps=30, label=7, guidance=1.25),
    )


@pytest.mark.parametrize(
    "request_",
    [
        SampleRequest(model=DDPM, seed=5, count=9, grid=True, options=DIFFUSION),
        SampleRequest(model=VAE, seed=11, count=4, grid=True),
    ],
    ids=["ddpm", "vae"],
)
def test_lab_use_these_parameters_then_generate_gives_the_same_request(request_):
    vm = a_lab()
    vm.describe_model(DIGITS, 1.0)
    vm.apply_request(request_)
    assert vm.sample_request() == request_


def test_one_sample_of_a_sheet_reopens_as_its_own_seed():
    vm = a_lab()
    vm.apply_request(SampleRequest(model=VAE, seed=40, count=1), seed=None)
    assert (vm.seed.value, vm.count.value) == ("40", 1)


def test_lab_state_restores_into_a_fresh_view_model():
    vm = a_lab()
    vm.select_model("ddpm-digits")
    vm.describe_model(DIGITS, 1.0)
    vm.apply_request(SampleRequest(model=DDPM, seed=5, count=9, grid=True, options=DIFFUSION))
    state = vm.state()
    assert state == {
        "model": "ddpm-digits",
        "seed": "5",
        "count": 9,
        "steps": 30,
        "label": 3,
        "guidance": 1.5,
        "options": {},  # a DDPM's options are its own controls above
    }
    fresh = a_lab()
    fresh.describe_model(DIGITS, 1.0)
    fresh.restore(state)
    assert fresh.state() == state


def test_a_class_the_model_does_not_have_is_not_restored():
    vm = a_lab()
    vm.describe_model(["a", "b"], 1.0)
    vm.restore({"model": "gone", "label": 5})
    assert vm.model.value == VAE and vm.label.value is None


def test_no_model_is_a_sentence():
    from engine.api.errors import BadInput

    with pytest.raises(BadInput, match="no model to sample"):
        LabViewModel().sample_request()
