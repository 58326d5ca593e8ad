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

from engine.cpu_path import DTYPES, NumericPath, numeric_path
from engine.registry import RunnerEnv


def sd_numerics(env: RunnerEnv) -> NumericPath:
    """The runtime's path, or (a runner built without one) the device's default."""
    return env.numerics if env.numerics is not None else numeric_path(env.device.is_gpu)


def job_numerics(env: RunnerEnv, recorded: str) -> tuple[NumericPath, str]:
    """The path for a job that re-makes a picture in the precision its recipe recorded
    (`recorded`; "" for none: the runtime's path), and a sentence for the picture's
    notes when it is not the runtime's own, or not available on this device."""
    own = sd_numerics(env)
    if not recorded or recorded == own.precision:
        return own, ""
    device = env.device.device
    if _computes(device, recorded):
        path = NumericPath(recorded, reason="as the reopened picture recorded")
        return path, f"Computed in {recorded}, as the reopened picture was (here: {own.label})."
    return own, (
        f"The picture was made in {recorded}, which the {device.upper()} here does not "
        f"compute; {own.precision} was used, so the pixels may differ slightly."
    )


def _computes(device: str, precision: str) -> bool:
    """Whether `device` runs Stable Diffusion in `precision`: fp16 is a GPU's (a CPU's
    fp16 kernels are missing or emulated), bf16 needs a CUDA card that has it."""
    if precision == "fp16":
        return device in ("cuda", "mps")
    if precision == "bf16" and device == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return precision in DTYPES


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
