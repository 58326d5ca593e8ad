"""Any prompt the text encoder accepts comes back from an image: exactly from the recipe,
and from the A1111 `parameters` text except in the cases documented as lossy there."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt
from engine.api.requests import Txt2ImgRequest
from engine.store import parse_parameters, read_metadata
from engine.store.a1111 import NEGATIVE_PREFIX
from engine.store.metadata import png_text
from engine.store.png import encode_png

# Every Unicode string but lone surrogates, which are not text (requests refuse them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)
RGB = np.zeros((8, 8, 3), np.uint8)


def written_and_read(positive: str, negative: str):
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "models/sd15"), prompt=Prompt(positive, negative)
    )
    request.prompt.check()  # the door accepts it
    data = encode_png(RGB, png_text(ResultImage(RGB, 1), request, datetime.now().astimezone()))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.png"
        path.write_bytes(data)
        return request, read_metadata(path)


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_the_recipe_gives_back_any_prompt_exactly(positive, negative):
    request, meta = written_and_read(positive, negative)
    assert meta.request == request
    assert (meta.prompt, meta.negative_prompt) == (positive, negative)


def a1111_keeps(text: str) -> bool:
    """What the A1111 text format cannot carry (documented in the README): surrounding
    whitespace on a line, carriage returns, and a line that begins "Negative prompt:"."""
    lines = text.split("\n")
    return (
        "\r" not in text
        and all(line == line.strip() for line in lines)
        and not any(line.startswith(NEGATIVE_PREFIX) for line in lines)
        and text == text.strip()
    )


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_the_a1111_text_gives_back_every_prompt_it_can_carry(positive, negative):
    assume(a1111_keeps(positive) and a1111_keeps(negative))
    _request, meta = written_and_read(positive, negative)
    params = parse_parameters(meta.parameters_text)
    assert (params["prompt"], params["negative_prompt"]) == (positive, negative)
