"""Image tensors to the uint8 pixels every outcome carries."""

from __future__ import annotations

import numpy as np
import torch


def to_rgb_uint8(images: torch.Tensor) -> np.ndarray:
    """N x C x H x W in [0, 1] -> N x H x W x 3 uint8 (grey replicated to RGB)."""
    pixels = (images.detach().float() * 255).round().clamp(0, 255).to(torch.uint8).cpu()
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return pixels.permute(0, 2, 3, 1).contiguous().numpy()
