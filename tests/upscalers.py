"""Tiny upscaler files that spandrel recognises, built in the test (no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file


def compact_net(scale: int = 2, seed: int = 0, num_feat: int = 8, num_conv: int = 2):
    """Real-ESRGAN's compact SRVGGNet, as small as it gets, with random weights."""
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(seed)
    return Compact(num_feat=num_feat, num_conv=num_conv, upscale=scale).eval()


def esrgan_net(scale: int = 4, seed: int = 0):
    """The original ESRGAN (RRDB) with 8 filters and one block."""
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(seed)
    return ESRGAN(num_filters=8, num_blocks=1, scale=scale).eval()


def save_safetensors(net: torch.nn.Module, path: Path) -> Path:
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def save_pth(net: torch.nn.Module, path: Path, wrap: str | None = None) -> Path:
    """As community files come: a plain state dict, or one inside {"params_ema": …}."""
    state = net.state_dict()
    torch.save({wrap: state} if wrap else state, str(path))
    return path


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An image with edges, gradients and noise: what a model's errors would show on."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [128 + 100 * np.sin(x / 5.0), 128 + 100 * np.cos(y / 7.0), (x * 3 + y * 2) % 256],
        axis=2,
    )
    base[height // 3 : height // 2, width // 4 : width // 2] = (250, 30, 30)
    noisy = base + rng.normal(0, 12, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray(rgb).save(path)
    return path
