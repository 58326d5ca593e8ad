"""How a Stable Diffusion pipeline computes: the runtime's numeric path applied to it
(dtype at load time, channels-last memory layout), and VAE tiling for one job.

The dtype is given to the loader itself, so diffusers converts each tensor as it reads
it: a bf16 model holds one bf16 copy, never an fp32 copy beside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from engine.cpu_path import NumericPath, numeric_path
from engine.registry import RunnerEnv


def sd_numerics(env: RunnerEnv) -> NumericPath:
    """The runtime's path, or (a runner built without one) the device's default."""
    return env.numerics if env.numerics is not None else numeric_path(env.device.is_gpu)


def apply_layout(pipe: Any, numerics: NumericPath) -> Any:
    """The UNet and VAE in channels-last where the measurement found it faster."""
    if numerics.channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    return pipe


@contextlib.contextmanager
def vae_tiling(pipe: Any, tiled: bool) -> Iterator[None]:
    """The VAE decodes in overlapping tiles for this job only (the cached pipeline is
    shared with later jobs, whose pictures may fit whole)."""
    if not tiled:
        yield
        return
    pipe.vae.enable_tiling()
    try:
        yield
    finally:
        pipe.vae.disable_tiling()
