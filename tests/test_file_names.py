"""Saved images are named by what the prompt says, not by its syntax (issue 19: a file
was named "masterpiece-1-2-lora-neon-glow-v2-0-8-…" after its weights and LoRA tag)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.api.kinds import Family
from engine.api.outcomes import ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling
from engine.api.requests import Txt2ImgRequest
from engine.store import GalleryStore


@pytest.mark.parametrize(
    ("prompt", "name"),
    [
        ("(masterpiece:1.2), <lora:neon glow v2:0.8> a red fox", "masterpiece-a-red-fox"),
        ("((best quality)), [blurry] castle BREAK at night", "best-quality-blurry-castle-at-night"),
        ("<lora:ink:1>", "dreamshaper-8"),  # nothing but syntax: the model's name
    ],
)
def test_a_saved_image_is_named_by_the_prompts_words(tmp_path, prompt, name):
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, "/models/dreamshaper_8.safetensors"),
        prompt=Prompt(prompt),
        sampling=Sampling(seed=7),
    )
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    info = {"model": "/models/dreamshaper_8.safetensors"}
    path = GalleryStore(tmp_path).save(ResultImage(rgb, 7, 0, info), request)
    assert Path(path).name == f"00001-7-{name}.png"
