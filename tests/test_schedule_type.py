"""A1111's "Schedule type" (1.9+): written beside the sampler for Karras schedules and
timestep spacings, and read back. The oracles are A1111's own words: the labels of
modules/sd_schedulers.py ("Karras", "SGM Uniform", "Uniform", "Automatic", ...) and the
infotext line processing.py writes ("Sampler: DPM++ 2M, Schedule type: Karras")."""

from __future__ import annotations

import numpy as np
import pytest

from engine.api.a1111_request import request_from_parameters
from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Txt2ImgRequest
from engine.api.schedule_types import schedule_label
from engine.store.a1111 import parse_parameters
from engine.store.foreign.as_a1111 import a1111_params
from engine.store.foreign.result import ForeignRead
from engine.store.metadata import build_parameters


def written(sampler: str | None, spacing: str = "", model_sampler: str = "") -> str:
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "m.safetensors"),
        prompt=Prompt("a lighthouse"),
        size=Size(64, 64),
        sampling=Sampling(4, 1.5, sampler, 7, spacing=spacing),
    )
    image = ResultImage(np.zeros((64, 64, 3), np.uint8), 7, 0, {"sampler": model_sampler})
    return build_parameters(image, request)


@pytest.mark.parametrize(
    ("sampler", "spacing", "line"),
    [
        ("DPM++ 2M Karras", "", "Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 1.5"),
        ("DPM++ SDE Karras", "trailing", "Sampler: DPM++ SDE, Schedule type: Karras, CFG"),
        ("Euler", "trailing", "Sampler: Euler, Schedule type: SGM Uniform, CFG scale: 1.5"),
        ("Euler a", "linspace", "Sampler: Euler a, Schedule type: Uniform, CFG scale: 1.5"),
        ("LCM", "", "Steps: 4, Sampler: LCM, CFG scale: 1.5"),  # no schedule line
        ("Euler", "leading", "Steps: 4, Sampler: Euler, CFG scale: 1.5"),  # no A1111 label
    ],
)
def test_the_text_says_the_schedule_as_a1111_writes_it(sampler, spacing, line):
    assert line in written(sampler, spacing)


def test_the_models_own_sampler_with_trailing_spacing_says_sgm_uniform():
    text = written(None, "trailing", model_sampler="EulerDiscreteScheduler")
    assert "Sampler: Euler, Schedule type: SGM Uniform," in text


READ = [
    ("Sampler: DPM++ 2M, Schedule type: Karras", "DPM++ 2M Karras", "", False),
    ("Sampler: DPM++ 2M SDE, Schedule type: Karras", "DPM++ 2M SDE Karras", "", False),
    ("Sampler: Euler, Schedule type: SGM Uniform", "Euler", "trailing", False),
    ("Sampler: Euler a, Schedule type: Uniform", "Euler a", "linspace", False),
    ("Sampler: DPM++ 2M, Schedule type: Automatic", "DPM++ 2M", "", False),
    ("Sampler: DPM++ 2M Karras", "DPM++ 2M Karras", "", False),  # before 1.9
    ("Sampler: Euler SGM Uniform", "Euler", "trailing", False),  # in the name, as 1.9 reads
    ("Sampler: Euler, Schedule type: Exponential", "Euler", "", True),  # none here
    ("Sampler: Euler, Schedule type: Karras", "Euler", "", True),  # no Euler Karras here
    ("Sampler: Restart, Schedule type: Karras", None, "", True),  # no such sampler here
]


@pytest.mark.parametrize(("sampling", "sampler", "spacing", "noted"), READ)
def test_a1111_text_reads_back_as_sampler_and_spacing(sampling, sampler, spacing, noted):
    text = f"a lighthouse\nSteps: 20, {sampling}, CFG scale: 7, Seed: 1, Size: 512x512"
    read = request_from_parameters(parse_parameters(text))
    assert (read.request.sampling.sampler, read.request.sampling.spacing) == (sampler, spacing)
    assert bool(read.notes) == noted


@pytest.mark.parametrize(
    ("sampler", "spacing"),
    [("DPM++ 2M Karras", ""), ("Euler", "trailing"), ("DPM2 a Karras", ""), ("UniPC", "linspace")],
)
def test_what_is_written_reads_back_the_same(sampler, spacing):
    read = request_from_parameters(parse_parameters(written(sampler, spacing)))
    assert (read.request.sampling.sampler, read.request.sampling.spacing) == (sampler, spacing)


def test_every_a1111_spelling_names_its_label():
    # modules/sd_schedulers.py: Scheduler('sgm_uniform', 'SGM Uniform', ..., aliases=["SGMUniform"])
    assert schedule_label("sgm_uniform") == schedule_label("SGMUniform") == "SGM Uniform"
    assert schedule_label("align_your_steps") == "Align Your Steps"
    assert schedule_label("kl_optimal") == "KL Optimal" and schedule_label("nonsense") == ""


def test_a_comfyui_sgm_uniform_schedule_travels_as_trailing_spacing():
    read = ForeignRead("comfyui", fields={"sampler": "Euler", "scheduler": "sgm_uniform"})
    request = request_from_parameters(a1111_params(read)).request
    assert (request.sampling.sampler, request.sampling.spacing) == ("Euler", "trailing")
    plain = ForeignRead("comfyui", fields={"sampler": "Euler", "scheduler": "normal"})
    assert request_from_parameters(a1111_params(plain)).notes == ()
