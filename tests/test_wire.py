"""Every engine event and outcome survives the wire: to JSON data and back, and as JSON text.

The classes are found by walking the subclasses of Event and Outcome, so a new class
without a strategy here fails `test_every_class_has_a_strategy`. The oracle is a plain
structural comparison written here (types, fields, pixels exactly), not the wire's code.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.api import wire
from engine.api.errors import BadInput
from engine.api.events import (
    Cancelled,
    DeviceInfo,
    Event,
    Failed,
    Finished,
    Frames,
    Metrics,
    Paused,
    Preview,
    Progress,
    Queued,
    Resumed,
    Started,
)
from engine.api.image_data import pixels_from_png, png_bytes
from engine.api.kinds import ErrorKind, Lane
from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    LatentAxis,
    ModelOutcome,
    Outcome,
    ResultImage,
    VectorsOutcome,
)
from engine.api.requests import request_from_dict

RECIPES = Path(__file__).parent / "data" / "recipes"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _saved_requests() -> list:
    """One request of every type, as release 0.1.0 saved them (tests/data/recipes)."""
    requests = []
    for path in sorted(RECIPES.glob("*.json")):
        chunks = json.loads(path.read_text(encoding="utf-8"))
        requests.append(request_from_dict(json.loads(chunks["latentstudio"])["request"]))
    return requests


# ---------------------------------------------------------------- strategies

ids = st.integers(min_value=0, max_value=2**53)
texts = st.text(max_size=12)
numbers = st.floats(allow_nan=True, allow_infinity=True)
finite = st.floats(allow_nan=False, allow_infinity=False)
images = st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda hw: arrays(np.uint8, (*hw, 3))
)
requests = st.sampled_from(_saved_requests())
json_data = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
result_images = st.builds(
    ResultImage,
    rgb=images,
    seed=st.none() | ids,
    index=st.integers(0, 64),
    info=st.dictionaries(texts, json_data, max_size=3),
    path=st.none() | texts,
    save_error=st.none() | texts,
    png_text=st.dictionaries(texts, texts, max_size=2),
)
axes = st.builds(
    LatentAxis,
    direction=st.tuples(finite, finite, finite),
    spread=finite,
    label=texts,
    moves=st.lists(st.tuples(texts, finite), max_size=3).map(tuple),
)
tuple_of = lambda strategy: st.lists(strategy, max_size=3).map(tuple)  # noqa: E731

OUTCOMES: dict[type, st.SearchStrategy] = {
    ImagesOutcome: st.builds(ImagesOutcome, images=tuple_of(result_images)),
    FramesOutcome: st.builds(FramesOutcome, frames=tuple_of(images), labels=tuple_of(texts)),
    VectorsOutcome: st.builds(
        VectorsOutcome, vectors=tuple_of(tuple_of(numbers)), labels=tuple_of(texts)
    ),
    AxesOutcome: st.builds(AxesOutcome, axes=tuple_of(axes), how=texts),
    ModelOutcome: st.builds(
        ModelOutcome,
        path=texts,
        step=ids,
        metrics=st.dictionaries(texts, numbers, max_size=3),
        stopped_early=st.booleans(),
        files=tuple_of(st.tuples(texts, st.binary(max_size=16))),
    ),
}
outcomes = st.one_of(*OUTCOMES.values())

EVENTS: dict[type, st.SearchStrategy] = {
    Queued: st.builds(Queued, job_id=ids, request=requests, lane=st.sampled_from(Lane)),
    Started: st.builds(Started, job_id=ids, request=requests),
    Progress: st.builds(
        Progress,
        job_id=ids,
        step=ids,
        total=ids,
        eta_s=st.none() | numbers,
        it_per_s=st.none() | numbers,
        message=texts,
    ),
    Preview: st.builds(Preview, job_id=ids, rgb=images),
    Metrics: st.builds(
        Metrics, job_id=ids, step=ids, values=st.dictionaries(texts, numbers, max_size=3)
    ),
    Frames: st.builds(Frames, job_id=ids, frames=tuple_of(images), labels=tuple_of(texts)),
    Paused: st.builds(Paused, job_id=ids),
    Resumed: st.builds(Resumed, job_id=ids),
    Finished: st.builds(Finished, job_id=ids, outcome=outcomes),
    Cancelled: st.builds(Cancelled, job_id=ids),
    Failed: st.builds(Failed, job_id=ids, message=texts, kind=st.sampled_from(ErrorKind)),
    DeviceInfo: st.builds(DeviceInfo, device=texts, dtype=texts, description=texts),
}


def engine_subclasses(base: type) -> set[type]:
    found, stack = set(), [base]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("engine."):  # not a test's own stand-in
                found.add(cls)
    return found


# ---------------------------------------------------------------- the oracle


def assert_same(a: Any, b: Any, where: str = "value") -> None:
    assert type(a) is type(b), f"{where}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert np.array_equal(a, b), f"{where}: pixels changed"
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} became {b!r}"


# ---------------------------------------------------------------- tests


def test_every_class_has_a_strategy() -> None:
    assert engine_subclasses(Event) | {DeviceInfo} == set(EVENTS)
    assert engine_subclasses(Outcome) == set(OUTCOMES)


@pytest.mark.parametrize("cls", sorted(EVENTS, key=lambda c: c.__name__), ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_every_event_round_trips(cls: type, data: st.DataObject) -> None:
    event = data.draw(EVENTS[cls])
    plain = wire.event_to_data(event)
    assert_same(event, wire.event_from_data(plain))
    text = wire.event_to_json(event)
    assert_same(event, wire.event_from_json(text))
    assert json.loads(text)["type"] == cls.__name__


@pytest.mark.parametrize(
    "cls", sorted(OUTCOMES, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
@FAST
@given(data=st.data())
def test_every_outcome_round_trips(cls: type, data: st.DataObject) -> None:
    outcome = data.draw(OUTCOMES[cls])
    plain = wire.outcome_to_data(outcome)
    assert_same(outcome, wire.outcome_from_data(plain))
    assert_same(outcome, wire.outcome_from_data(json.loads(json.dumps(plain))))


def test_images_travel_as_base64_png_inside_json() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    sent = json.loads(wire.event_to_json(Preview(1, rgb)))
    png = base64.b64decode(sent["rgb"]["png"])
    assert png.startswith(PNG_SIGNATURE)
    import io

    from PIL import Image  # an independent reader of the bytes

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), rgb)


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 3), (4, 5, 4)])
def test_image_data_keeps_grey_rgb_and_rgba_exactly(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = pixels_from_png(png_bytes(pixels))
    assert back.shape == shape and np.array_equal(back, pixels)


def test_image_data_refuses_what_png_cannot_hold_exactly() -> None:
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(np.zeros((2, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="H x W"):
        png_bytes(np.zeros((2, 2, 2), dtype=np.uint8))


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Exploded", "job_id": 1},
        {"job_id": 1},
        ["Finished"],
        {"type": "Failed", "message": "no job id"},
        {"type": "Preview", "job_id": 1, "rgb": "not an image"},
    ],
)
def test_what_is_not_an_event_is_refused_with_a_sentence(data: Any) -> None:
    with pytest.raises(BadInput):
        wire.event_from_data(data)
