"""A1111's escapes in a prompt without weights: the pipeline must read the literal text.

`\\(highly detailed\\)` carries no weight, so it takes the plain-text path, where the
pipeline's tokenizer reads it. A1111 reads it as `(highly detailed)`; so must we. Oracle:
a bare diffusers pipeline, loaded from the same folder, given the unescaped text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import LatentWalkRequest, Txt2ImgRequest
from engine.context import JobContext
from tests.sd_original_layout import bare_image, bare_pipeline, save_folder, tiny_pipeline

pytestmark = pytest.mark.reproducibility

# (what the user types, what A1111 sends to the tokenizer)
ESCAPED = [
    ("a \\(highly detailed\\) castle", "a (highly detailed) castle"),
    ("a castle \\[night\\]", "a castle [night]"),
    ("a back\\\\slash castle", "a back\\slash castle"),
    ("a castle (at night:1.0)", "a castle at night"),  # a neutral weight is no weight
]
NEGATIVE = ("\\(blurry\\), \\[low quality\\]", "(blurry), [low quality]")


@pytest.fixture(scope="module")
def sd1(tmp_path_factory) -> Path:
    return save_folder(tiny_pipeline("sd1", seed=5), tmp_path_factory.mktemp("sd1") / "tiny-sd1")


@pytest.fixture(scope="module")
def bare(sd1):
    return bare_pipeline(sd1)


def request(model: Path, positive: str, negative: str = "") -> Txt2ImgRequest:
    return Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt(positive, negative),
        size=Size(64, 64),
        sampling=Sampling(steps=3, cfg_scale=6.0, sampler=None, seed=11),
    )


def image(runtime, req: Txt2ImgRequest) -> np.ndarray:
    return runtime.run(req, JobContext(1)).images[0].rgb


@pytest.mark.parametrize(("typed", "literal"), ESCAPED)
def test_an_escaped_prompt_gives_diffusers_image_of_the_literal_text(
    sd1, bare, sd_runtime, typed, literal
):
    got = image(sd_runtime, request(sd1, typed))
    assert np.array_equal(got, bare_image(bare, literal, seed=11))


def test_an_escaped_negative_prompt_gives_diffusers_image_of_the_literal_text(
    sd1, bare, sd_runtime
):
    typed, literal = NEGATIVE
    got = image(sd_runtime, request(sd1, "a castle", typed))
    assert np.array_equal(got, bare_image(bare, "a castle", seed=11, negative=literal))


def test_a_latent_walks_first_frame_reads_the_literal_text(sd1, bare, sd_runtime):
    typed, literal = ESCAPED[0]
    walk = LatentWalkRequest(**vars(request(sd1, typed)), to_seed=12, frames=2, mode="lerp")
    frames = sd_runtime.run(walk, JobContext(1)).images
    assert np.array_equal(frames[0].rgb, bare_image(bare, literal, seed=11))
