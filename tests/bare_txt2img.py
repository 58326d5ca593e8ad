"""Test support: what bare diffusers draws for a Txt2ImgRequest, the oracle the SD tests
hold the app's pictures to (bench.baselines scripts it as a user would, diffusers alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.baselines import bare_diffusers_txt2img
from engine.api.requests import Txt2ImgRequest


def bare_txt2img(model: Path, req: Txt2ImgRequest, **options: Any) -> np.ndarray:
    """batch x H x W x 3 uint8 for `req`'s prompt, size, sampling and batch; `options`
    go to bare_diffusers_txt2img as they are (dtype, scheduler, eta)."""
    return bare_diffusers_txt2img(
        model,
        prompt=req.prompt.positive,
        negative_prompt=req.prompt.negative,
        width=req.size.width,
        height=req.size.height,
        steps=req.sampling.steps,
        cfg_scale=req.sampling.cfg_scale,
        seed=req.sampling.seed,
        batch_size=req.batch_size,
        **options,
    )
