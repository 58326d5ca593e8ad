"""Cheap previews of Stable Diffusion latents: a linear map from 4 latent channels to RGB.

Decoding with the VAE at every step would cost more than the step itself; a 4x3 matrix
gives a recognisable, 8x smaller picture for about a millisecond.

The factors are the public "latent RGB factors" of ComfyUI, comfy/latent_formats.py
(classes SD15 and SDXL), applied the way its latent_preview.py (Latent2RGBPreviewer)
does: rgb = latent @ factors + bias, clamped to [-1, 1], mapped to [0, 255]. They act on
latents as the sampler sees them (already multiplied by the VAE's scaling factor), which
is also what diffusers hands to `callback_on_step_end`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatentRgbFactors:
    factors: np.ndarray  # latent channels x 3
    bias: np.ndarray  # 3


def _factors(rows: list[list[float]], bias: list[float] | None = None) -> LatentRgbFactors:
    return LatentRgbFactors(
        np.asarray(rows, dtype=np.float32), np.asarray(bias or [0.0, 0.0, 0.0], dtype=np.float32)
    )


# SD 1.x and 2.x share one VAE, hence one set of factors.
SD_FACTORS = _factors(
    [
        #   R        G        B
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ]
)
SDXL_FACTORS = _factors(
    [
        [0.3651, 0.4232, 0.4341],
        [-0.2533, -0.0042, 0.1068],
        [0.1076, 0.1111, -0.0362],
        [-0.3165, -0.2492, -0.2188],
    ],
    bias=[0.1084, -0.0175, -0.0011],
)
FACTORS_BY_FAMILY = {"sd": SD_FACTORS, "sdxl": SDXL_FACTORS}


def latents_to_rgb(latents: Any, family: str = "sd") -> np.ndarray:
    """HxWx3 uint8 preview of the first latent of a batch (torch tensor or numpy, BxCxHxW).

    Latents that do not have the 4 channels the factors expect (tiny or unusual models)
    fall back to showing their first channels, each stretched to the full range.
    """
    x = _first_latent(latents)
    factors = FACTORS_BY_FAMILY.get(family, SD_FACTORS)
    if x.shape[0] == factors.factors.shape[0]:
        c, h, w = x.shape
        rgb = (x.reshape(c, h * w).T @ factors.factors + factors.bias).reshape(h, w, 3)
    else:
        rgb = _fallback_rgb(x)
    return _to_uint8(rgb)


def _first_latent(latents: Any) -> np.ndarray:
    if hasattr(latents, "detach"):  # a torch tensor, maybe on the GPU, maybe half precision
        latents = latents[0].detach().float().cpu().numpy()
    else:
        latents = np.asarray(latents, dtype=np.float32)[0]
    return latents.astype(np.float32, copy=False)


def _fallback_rgb(x: np.ndarray) -> np.ndarray:
    channels = x[:3] if x.shape[0] >= 3 else np.repeat(x[:1], 3, axis=0)
    scale = np.abs(channels).reshape(3, -1).max(axis=1)
    channels = channels / np.maximum(scale, 1e-6)[:, None, None]
    return np.moveaxis(channels, 0, -1)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    # Round rather than truncate, as ComfyUI does and as diffusers does for final images.
    rgb = np.nan_to_num(rgb, nan=0.0)  # a broken model's NaNs show as grey, not a warning
    return np.ascontiguousarray(((np.clip(rgb, -1.0, 1.0) + 1.0) * 127.5).round().astype(np.uint8))
