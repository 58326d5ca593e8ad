"""How much memory a Stable Diffusion job will want beyond its weights, before it runs.

A rough, conservative estimate from the model's own widths: the VAE decodes the whole
batch at full resolution with its widest layers (SD: 128 channels) and keeps a few such
tensors alive; the UNet works on 1/64 of the pixels, twice over with classifier-free
guidance. Refusing a job that cannot fit is better than minutes of swapping or an
out-of-memory error at the very last step.
"""

from __future__ import annotations

from typing import Any

import torch

VAE_LIVE_TENSORS = 6  # full-resolution activations alive at the decoder's peak
UNET_LIVE_TENSORS = 24  # latent-resolution activations alive at the UNet's peak (skips)
GUIDED = 2  # classifier-free guidance runs the UNet on a doubled batch


def activation_bytes(pipe: Any, width: int, height: int, batch: int, dtype: torch.dtype) -> int:
    element = torch.finfo(dtype).bits // 8
    pixels = width * height
    vae_width = int(pipe.vae.config.block_out_channels[0])
    vae = batch * pixels * vae_width * element * VAE_LIVE_TENSORS
    return vae + _unet_bytes(pipe, pixels, batch, element)


def tiled_vae_bytes(pipe: Any, width: int, height: int, batch: int, dtype: torch.dtype) -> int:
    """The same job with the VAE decoding tile by tile (diffusers' enable_tiling): its
    widest activations are a tile's, plus the decoded tiles and the picture (fp32 RGB)."""
    element = torch.finfo(dtype).bits // 8
    pixels = width * height
    tile = int(getattr(pipe.vae, "tile_sample_min_size", 512) or 512)
    vae_width = int(pipe.vae.config.block_out_channels[0])
    vae = batch * tile * tile * vae_width * element * VAE_LIVE_TENSORS
    pictures = 2 * batch * pixels * 3 * 4  # the decoded tiles and the blended picture
    return vae + pictures + _unet_bytes(pipe, pixels, batch, element)


def _unet_bytes(pipe: Any, pixels: int, batch: int, element: int) -> int:
    unet_width = int(pipe.unet.config.block_out_channels[0])
    return batch * GUIDED * (pixels // 64) * unet_width * element * UNET_LIVE_TENSORS


def gigabytes(n: int) -> str:
    return f"{n / 2**30:.1f} GB"
