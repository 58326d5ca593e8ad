"""What the app is measured and tested against: the same work written with the libraries
alone, sharing none of the app's code (tests compare pixels with it, benchmarks time it).
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

from functools import lru_cache  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from diffusers import StableDiffusionPipeline  # noqa: E402


@lru_cache(maxsize=1)
def load_bare_pipeline(
    path: str, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> StableDiffusionPipeline:
    """Loaded once, so that a benchmark times generation, not loading."""
    pipe = StableDiffusionPipeline.from_pretrained(
        path, dtype=dtype, local_files_only=True, safety_checker=None, requires_safety_checker=False
    ).to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bare_diffusers_txt2img(
    path: str | Path,
    *,
    prompt: str,
    negative_prompt: str = "",
    width: int,
    height: int,
    steps: int,
    cfg_scale: float,
    seed: int,
    batch_size: int = 1,
    scheduler: Any = None,
    eta: float | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """batch x H x W x 3 uint8, as a user would script it with diffusers alone.

    `scheduler`: a diffusers scheduler instance, or None for the model's own; `eta`
    the scheduler's, where given (TCD's gamma).
    """
    pipe = load_bare_pipeline(str(Path(path).resolve()), device, dtype)
    default_scheduler = pipe.scheduler
    if scheduler is not None:
        pipe.scheduler = scheduler
    try:
        images = pipe(
            prompt,
            negative_prompt=negative_prompt or None,
            width=width,
            height=height,
            num_inference_steps=steps,
            guidance_scale=cfg_scale,
            num_images_per_prompt=batch_size,
            generator=[torch.Generator("cpu").manual_seed(seed + i) for i in range(batch_size)],
            output_type="np",
            **({} if eta is None else {"eta": eta}),
        ).images
    finally:
        pipe.scheduler = default_scheduler
    return (images * 255).round().astype(np.uint8)
