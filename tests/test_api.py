"""The torch-free vocabulary: requests from typed parts, one serializer, checks at the door."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import Enum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.kinds import Family, Lane, Task
from engine.api.parts import Latents, ModelRef, Prompt, Sampling, Size
from engine.api.requests import (
    REQUEST_TYPES,
    DecodeRequest,
    SampleRequest,
    Txt2ImgRequest,
    request_from_dict,
    request_to_dict,
)
from engine.store import read_metadata

DATA = Path(__file__).parent / "data"


# ---------------------------------------------------------------- strategies from type hints
# Built here from the dataclasses' annotations only, so they share nothing with the
# serializer under test.


def strategy_for(hint: object) -> st.SearchStrategy:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(a) for a in typing.get_args(hint)])
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*[strategy_for(a) for a in args])
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if hint is Family:  # an open key: the families this version ships
        return st.sampled_from([Family(f) for f in ("sd", "vae", "gan", "ddpm", "upscale")])
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return builds(hint)
    return {
        int: st.integers(-(2**63), 2**63),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=20),
        bool: st.booleans(),
    }[hint]


def builds(cls: type) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls) if f.init}
    return st.builds(cls, **fields)


any_request = st.sampled_from(sorted(REQUEST_TYPES.values(), key=lambda c: c.__name__)).flatmap(
    builds
)


@settings(max_examples=300, deadline=None)
@given(any_request)
def test_every_request_round_trips_through_json_equal_and_hashable(request):
    text = json.dumps(request_to_dict(request), allow_nan=False)
    back = request_from_dict(json.loads(text))
    assert back == request
    assert type(back) is type(request)
    assert hash(back) == hash(request)


def test_every_task_has_exactly_one_request_class_with_a_lane_and_outcome():
    assert set(REQUEST_TYPES) == set(Task)
    for task, cls in REQUEST_TYPES.items():
        assert cls.task is task and isinstance(cls.lane, Lane) and cls.outcome is not None


def test_unknown_keys_from_newer_versions_are_ignored_and_missing_ones_defaulted():
    data = {
        "type": "txt2img",
        "model": {"family": "sd", "id": "m", "from_the_future": 1},
        "sampling": {"seed": 3},
        "colour_grading": "teal",
    }
    request = request_from_dict(data)
    assert request == Txt2ImgRequest(model=ModelRef(Family.SD, "m"), sampling=Sampling(seed=3))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"type": "paint"}, "Unknown request type"),
        ({"type": "sample", "model": {"family": "vae", "id": "x"}, "count": "many"}, "count"),
        ({"type": "sample", "model": {"family": "dragon", "id": "x"}}, "family"),
        ({"type": "decode", "model": {"family": "vae", "id": "x"}}, "latents"),
        ({"type": "sample", "model": "vae-digits"}, "model must be an object"),
    ],
)
def test_recipes_that_do_not_fit_are_bad_input_naming_the_field(data, words):
    with pytest.raises(BadInput, match=words):
        request_from_dict(data)


# ---------------------------------------------------------------- types at the door

VAE = ModelRef(Family.VAE, "vae-digits")
SD = ModelRef(Family.SD, str(DATA))  # any existing folder passes the door


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Txt2ImgRequest(model=SD, size=Size(64.0, 64)), "size.width"),
        (lambda: Txt2ImgRequest(model=SD, sampling=Sampling(steps=2.5)), "sampling.steps"),
        (lambda: SampleRequest(model=VAE, seed=True), "seed"),
        (lambda: SampleRequest(model=VAE, count="16"), "count"),
        (lambda: SampleRequest(model="vae-digits"), "model"),
        (lambda: Txt2ImgRequest(model=SD, prompt="a fox"), "prompt"),
        (lambda: DecodeRequest(model=VAE, latents=Latents(([0.0, 1.0],))), "latents.vectors"),
    ],
)
def test_wrongly_typed_fields_are_refused_with_bad_input(make, field):
    with pytest.raises(BadInput) as caught:
        make().validate()
    assert field in caught.value.message


def test_whole_numbers_are_accepted_where_a_float_is_expected():
    Txt2ImgRequest(model=SD, sampling=Sampling(cfg_scale=7)).validate()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e308, -1.0])
def test_non_finite_or_out_of_range_cfg_is_refused(bad):
    with pytest.raises(BadInput, match="CFG scale"):
        Txt2ImgRequest(model=SD, sampling=Sampling(cfg_scale=bad)).validate()


def test_seed_plus_batch_may_not_pass_the_largest_seed():
    with pytest.raises(BadInput, match="largest seed"):
        SampleRequest(model=VAE, seed=limits.SEED.high, count=2).validate()
    SampleRequest(model=VAE, seed=limits.SEED.high, count=1).validate()


def test_both_sizes_are_checked_and_the_nearest_offered():
    with pytest.raises(BadInput, match="Width 500 .* 504"):
        Txt2ImgRequest(model=SD, size=Size(500, 64)).validate()
    with pytest.raises(BadInput, match="between 8 and 4096"):
        Txt2ImgRequest(model=SD, size=Size(100000, 64)).validate()


# ---------------------------------------------------------------- requests describe themselves


def test_queue_lines_tell_jobs_apart():
    a = Txt2ImgRequest(
        model=SD,
        prompt=Prompt("a watercolor fox in a misty forest at dawn, highly detailed"),
        size=Size(512, 768),
        sampling=Sampling(sampler="Euler a", seed=42),
        batch_size=2,
    )
    assert a.describe() == "a watercolor fox in a misty for… · 512×768 · seed 42 · Euler a · ×2"
    assert SampleRequest(model=VAE, seed=5, count=1).describe() == "vae-digits · 1 sample · seed 5"


def test_interactive_requests_replace_each_other_per_model():
    a = DecodeRequest(model=VAE, latents=Latents(((0.0,) * 8,)))
    b = DecodeRequest(model=VAE, latents=Latents(((1.0,) * 8,)))
    assert a.replace_key == b.replace_key and a.lane is Lane.INTERACTIVE
    assert SampleRequest(model=VAE).replace_key is None


# ---------------------------------------------------------------- the skeleton's recipes


def test_recipes_written_by_the_walking_skeleton_still_read():
    txt2img = read_metadata(DATA / "skeleton-txt2img.png")
    assert txt2img.recipe["version"] == 1
    assert txt2img.request == Txt2ImgRequest(
        model=ModelRef(Family.SD, "/models/tiny-sd"),
        prompt=Prompt("a red fox, in the snow", "blurry"),
        size=Size(24, 16),
        sampling=Sampling(steps=3, cfg_scale=5.5, sampler="DPM++ 2M Karras", seed=9),
        batch_size=2,
    )
    assert (txt2img.seed, txt2img.prompt, txt2img.negative_prompt) == (
        10,
        "a red fox, in the snow",
        "blurry",
    )
    sample = read_metadata(DATA / "skeleton-sample.png")
    assert sample.request == SampleRequest(model=VAE, seed=7, count=2)
    assert sample.kind == "sample" and sample.seed == 8


def test_the_api_imports_no_torch_and_no_qt():
    import subprocess
    import sys

    code = (
        "import sys, engine.api.requests, engine.api.events, engine.api.catalogue, "
        "engine.api.serialize\n"
        "heavy = {'torch', 'diffusers', 'transformers', 'PySide6'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("digits", "train GMM on digits · components 4 · 300 steps · seed 7"),
        ("/home/ann/Pictures/faces", "train GMM on faces · components 4 · 300 steps · seed 7"),
    ],
)
def test_a_trainings_queue_line_names_a_folder_by_name_and_its_settings_first(data, expected):
    from engine.api.parts import DatasetRef, Training
    from engine.api.requests import TrainRequest

    request = TrainRequest(
        family=Family("gmm"),
        preset="digits",
        dataset=DatasetRef(data),
        training=Training(steps=300, seed=7),
        output="/tmp/m.safetensors",
        settings=(("components", "4"),),
    )
    assert request.describe() == expected
