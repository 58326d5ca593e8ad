"""Tiny autoencoders (TAESD, TAESDXL): live previews, and a fast final decode on request.

A tiny decoder turns the latents the sampler holds (already multiplied by the VAE's
scaling factor) into a full-size picture for a few milliseconds, as diffusers'
AutoencoderTiny does with scaling_factor 1.0. Three layouts are read:
- madebyollin/taesd's `taesd_decoder.pth` and A1111's `models/VAE-approx/taesd_decoder.pt`
  (also `taesdxl_decoder.pt`): the state dict of an nn.Sequential that starts with a Clamp
  module (A1111 modules/sd_vae_taesd.py), so layer i is diffusers' DecoderTiny layer i-1;
- a diffusers single file (`diffusion_pytorch_model.safetensors`, keys `decoder.layers.*`);
- a diffusers folder (config.json beside it), read by AutoencoderTiny.from_pretrained.
A single file's architecture is read from its tensors, so every width and depth loads.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AutoencoderTiny
from safetensors.torch import load_file

from engine.api.errors import BadInput, BadModelFile
from engine.cache import FileIdentity
from engine.models.common.construction import building_models
from engine.models.sd.latent_preview import latents_to_rgb

DECODER = "decoder.layers."
_LAYER = re.compile(r"^(\d+)\.(.+)$")

# The tiny decoder of the job running on this thread, for the step previews.
_PREVIEW: contextvars.ContextVar[Any] = contextvars.ContextVar("tiny_preview", default=None)


def wrong_file(path: Path, why: str) -> BadInput:
    return BadInput(
        f"{path.name} is not a tiny autoencoder (TAESD) decoder ({why}). Choose a "
        "taesd_decoder / taesdxl_decoder file or a diffusers AutoencoderTiny folder."
    )


def load_tiny_vae(path: Path) -> Any:
    """An AutoencoderTiny in eval mode on the CPU, float32; BadInput for another file."""
    if path.is_dir():
        return _from_folder(path)
    state = _decoder_state(_read(path), path)
    try:
        with building_models:
            vae = AutoencoderTiny(**_decoder_config(state))
        vae.decoder.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, KeyError, IndexError) as exc:
        raise wrong_file(path, type(exc).__name__) from exc
    return vae.eval()


def _from_folder(path: Path) -> Any:
    try:
        with building_models:
            vae = AutoencoderTiny.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise wrong_file(path, type(exc).__name__) from exc
    return vae.eval()


def _read(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix.lower() == ".safetensors":
            return load_file(str(path))
        # weights_only: a .pt file's pickle may build tensors and nothing else.
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except OSError as exc:
        raise BadModelFile(f"{path.name} cannot be read ({exc}).") from exc
    except Exception as exc:  # noqa: BLE001  any parse error of a damaged file: one sentence
        raise wrong_file(path, "it cannot be read as weights") from exc
    if not isinstance(state, dict):
        raise wrong_file(path, "it holds no state dict")
    return state


def _decoder_state(state: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    """The decoder's tensors under DecoderTiny's names (`layers.N...`)."""
    if any(name.startswith(DECODER) for name in state):
        return {n[len("decoder.") :]: t for n, t in state.items() if n.startswith(DECODER)}
    renamed = {}
    for name, tensor in state.items():
        found = _LAYER.match(name)
        if found is None or int(found[1]) < 1:
            raise wrong_file(path, f"it has a tensor {name!r}")
        renamed[f"layers.{int(found[1]) - 1}.{found[2]}"] = tensor
    if not renamed:
        raise wrong_file(path, "it is empty")
    return renamed


def _decoder_config(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """AutoencoderTiny's arguments for a decoder with these tensors. The layers are a
    convolution, then runs of blocks each closed by a convolution (block i's first
    convolution is `layers.i.conv.0`); the encoder is made as small as it can be."""
    indices = sorted({int(name.split(".")[1]) for name in state})
    runs: list[tuple[int, int]] = []  # (blocks, channels)
    blocks = 0
    for index in indices[1:]:
        block = state.get(f"layers.{index}.conv.0.weight")
        if block is not None:
            blocks, channels = blocks + 1, int(block.shape[0])
        elif blocks:
            runs.append((blocks, channels))
            blocks = 0
    first, last = state[f"layers.{indices[0]}.weight"], state[f"layers.{indices[-1]}.weight"]
    widths = tuple(channels for _, channels in runs)
    return {
        "latent_channels": int(first.shape[1]),
        "out_channels": int(last.shape[0]),
        "decoder_block_out_channels": widths,
        "num_decoder_blocks": tuple(count for count, _ in runs),
        "encoder_block_out_channels": (1,) * len(runs),
        "num_encoder_blocks": (1,) * len(runs),
    }


def decode(vae: Any, latents: torch.Tensor) -> np.ndarray:
    """BxHxWx3 float pictures in [0, 1], as diffusers' image processor denormalises."""
    with torch.no_grad():
        images = vae.decode(latents.to(vae.device, vae.dtype)).sample
    return (images / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()


def tiny_preview(latents: Any, family: str) -> np.ndarray:
    """The step preview: the job's tiny decoder where it has one, else the linear
    approximation (engine.models.sd.latent_preview)."""
    vae = _PREVIEW.get()
    if vae is None:
        return latents_to_rgb(latents, family)
    first = latents[:1] if hasattr(latents, "detach") else torch.as_tensor(latents[:1])
    return (decode(vae, first)[0] * 255).round().astype(np.uint8)


@contextlib.contextmanager
def previewing_with(vae: Any) -> Iterator[None]:
    """Step previews of the jobs in this block decoded by `vae` (None: approximated)."""
    token = _PREVIEW.set(vae)
    try:
        yield
    finally:
        _PREVIEW.reset(token)


@contextlib.contextmanager
def decoding_with(pipe: Any, vae: Any) -> Iterator[None]:
    """The pipeline's final decode by `vae` in this block (None: the model's own VAE),
    as diffusers' documentation swaps in an AutoencoderTiny; the VAE is put back after."""
    if vae is None:
        yield
        return
    own = pipe.vae
    pipe.vae = vae
    try:
        yield
    finally:
        pipe.vae = own


class TinyVaeSlot:
    """The tiny decoder of one runner: read once per file, kept for the next job."""

    def __init__(self) -> None:
        self._identity: FileIdentity | None = None
        self._vae: Any = None

    def get(self, path: Path) -> Any:
        identity = FileIdentity.of(path)
        if identity != self._identity or self._vae is None:
            self._vae, self._identity = load_tiny_vae(path), identity
        return self._vae
