"""Few-step models: the kinds table (engine.library.few_step), and the LCM/TCD samplers
and timestep spacing as diffusers builds them (diffusers' own classes are the oracle)."""

from __future__ import annotations

import diffusers
import numpy as np
import pytest

from engine.api.errors import BadInput
from engine.api.parts import Sampling
from engine.library.few_step import FewStepKind, Suggested, recognise
from engine.models.sd.samplers import call_eta, make_scheduler

# (file name, metadata) -> (kind, sampler, steps, cfg, spacing), from the model cards.
TABLE = [
    ("lcm-lora-sdv1-5.safetensors", {}, ("LCM", "LCM", 6, 1.5, "")),
    ("LCM_Dreamshaper_v7.safetensors", {}, ("LCM", "LCM", 6, 1.5, "")),
    ("dreamshaper_8LCM.safetensors", {}, ("LCM", "LCM", 6, 1.5, "")),
    ("TCD-SDXL-LoRA.safetensors", {}, ("TCD", "TCD", 4, 1.0, "")),
    ("sd_xl_turbo_1.0_fp16.safetensors", {}, ("Turbo", "Euler a", 4, 1.0, "trailing")),
    ("sdxl_lightning_2step_lora.safetensors", {}, ("SDXL-Lightning", "Euler", 2, 1.0, "trailing")),
    ("sdxl_lightning_8step_unet.safetensors", {}, ("SDXL-Lightning", "Euler", 8, 1.0, "trailing")),
    ("Hyper-SDXL-4steps-lora.safetensors", {}, ("Hyper-SD", "DDIM", 4, 1.0, "trailing")),
    ("Hyper-SD15-8steps-CFG-lora.safetensors", {}, ("Hyper-SD", "DDIM", 8, 6.0, "trailing")),
    ("Hyper-SD15-1step-lora.safetensors", {}, ("Hyper-SD", "TCD", 1, 1.0, "")),
    # The metadata says what the name does not.
    (
        "model.safetensors",
        {"modelspec.title": "SDXL Turbo"},
        ("Turbo", "Euler a", 4, 1.0, "trailing"),
    ),
    (
        "pytorch_lora_weights.safetensors",
        {"ss_output_name": "lcm-lora-sdxl"},
        ("LCM", "LCM", 6, 1.5, ""),
    ),
    (
        "a.safetensors",
        {
            "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
            "modelspec.title": "Lightning 4-step",
        },
        ("SDXL-Lightning", "Euler", 4, 1.0, "trailing"),
    ),
]


@pytest.mark.parametrize(("name", "metadata", "expected"), TABLE)
def test_few_step_files_are_recognised_with_their_cards_settings(name, metadata, expected):
    found = recognise(name, metadata)
    assert found is not None
    s = found.suggested
    assert (found.kind.name, s.sampler, s.steps, s.cfg_scale, s.spacing) == expected
    assert found.kind.name in found.note and f"{s.steps} step" in found.note
    Sampling(steps=s.steps, cfg_scale=s.cfg_scale, sampler=s.sampler, spacing=s.spacing).check()


@pytest.mark.parametrize("name", ["dreamshaper_8.safetensors", "alcmene.safetensors", "v1-5.ckpt"])
def test_ordinary_files_are_not_few_step(name):
    assert recognise(name, {"modelspec.title": "Stable Diffusion v1.5"}) is None


def test_metadata_outranks_the_file_name():
    found = recognise("my-turbo-mix.safetensors", {"modelspec.title": "TCD LoRA"})
    assert found is not None and found.kind.name == "TCD" and "modelspec.title" in found.evidence


def test_a_kind_can_be_marked_by_its_tensor_names():
    kind = FewStepKind(
        "X", r"xyzzy", Suggested("LCM", 4, 1.0), "x.", keys=("time_embedding", "lcm_")
    )
    keys = ["unet.time_embedding.linear_1.lora_A.weight", "lcm_marker"]
    found = recognise("plain.safetensors", {}, keys, kinds=(kind,))
    assert found is not None and found.evidence == "its tensor names"
    assert recognise("plain.safetensors", {}, keys[:1], kinds=(kind,)) is None


SD15 = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "timestep_spacing": "leading",
}


@pytest.mark.parametrize(("name", "cls"), [("LCM", "LCMScheduler"), ("TCD", "TCDScheduler")])
def test_lcm_and_tcd_are_diffusers_own_schedulers(name, cls):
    ours = make_scheduler(name, SD15)
    oracle = getattr(diffusers, cls).from_config(SD15)
    assert type(ours) is type(oracle)
    ours.set_timesteps(4)
    oracle.set_timesteps(4)
    np.testing.assert_array_equal(ours.timesteps.numpy(), oracle.timesteps.numpy())


def test_tcd_runs_with_its_cards_gamma_and_others_with_the_pipelines():
    assert call_eta("TCD") == {"eta": 0.3}
    assert call_eta("LCM") == {} and call_eta(None) == {}


def test_trailing_spacing_starts_at_the_last_training_timestep():
    ours = make_scheduler("Euler", SD15, spacing="trailing")
    ours.set_timesteps(4)
    # diffusers: round(arange(1000, 0, -1000 / 4)) - 1, as the Lightning and Turbo cards use.
    np.testing.assert_array_equal(ours.timesteps.numpy(), [999, 749, 499, 249])
    leading = make_scheduler("Euler", SD15)
    leading.set_timesteps(4)
    np.testing.assert_array_equal(leading.timesteps.numpy(), [751, 501, 251, 1])


def test_an_unknown_spacing_is_bad_input():
    with pytest.raises(BadInput, match="spacing"):
        Sampling(spacing="sideways").check()


def test_trailing_spacing_reaches_the_job_and_draws_as_bare_diffusers(cpu_runtime, tiny_model):
    from bench.baselines import bare_diffusers_txt2img
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext

    sampling = Sampling(steps=2, cfg_scale=1.0, sampler="Euler", seed=5, spacing="trailing")
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(tiny_model)),
        prompt=Prompt("a photo of a cat"),
        size=Size(32, 32),
        sampling=sampling,
    )
    got = cpu_runtime.run(request, JobContext(1)).images[0].rgb
    config = diffusers.PNDMScheduler.from_pretrained(tiny_model, subfolder="scheduler").config
    scheduler = diffusers.EulerDiscreteScheduler.from_config(
        config, timestep_spacing="trailing", use_karras_sigmas=False
    )
    expected = bare_diffusers_txt2img(
        tiny_model,
        prompt="a photo of a cat",
        width=32,
        height=32,
        steps=2,
        cfg_scale=1.0,
        seed=5,
        scheduler=scheduler,
    )[0]
    np.testing.assert_array_equal(got, expected)
