"""Depth maps by Depth Anything V2, from the original checkpoint the user has
(`depth_anything_v2_vit{s,b,l}.pth`), run as transformers' DepthAnythingForDepthEstimation.

The image is prepared as the original repository's `image2tensor` does (aspect kept, the
short side at least 518, both sides multiples of 14, bicubic, ImageNet normalisation); the
relative depth comes back at the image's size and is stretched min..max over 0..255, as
ControlNet's depth maps are: near is bright (the network predicts inverse depth).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import DepthAnythingForDepthEstimation

from engine.api.errors import BadInput
from engine.library.annotators import ANNOTATORS
from engine.library.header import would_run_code
from engine.models.sd.control.annotator_nets.depth_convert import (
    PATCH,
    NotDepthAnything,
    config_of,
    to_transformers,
)

FILES = tuple(candidate.file for candidate in ANNOTATORS["depth"].candidates)
SHORT_SIDE = 518  # the size V2 was trained at; its image2tensor's lower bound
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet's
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
FLAT = 1e-5  # a prediction whose range is less than this part of its value has no depth


def load(path: Path, device: torch.device) -> DepthAnythingForDepthEstimation:
    """The network in `path` on `device`, checked tensor by tensor against its layout."""
    path = Path(path)
    state = _read(path)
    try:
        config = config_of(state)
        # Built without memory or random init: every tensor comes from the file.
        with torch.device("meta"):
            model = DepthAnythingForDepthEstimation(config)
        wanted = {key: value.shape for key, value in model.state_dict().items()}
        tensors = to_transformers(state, wanted)
    except NotDepthAnything as exc:
        raise BadInput(_not_depth_anything(path, str(exc))) from None
    tensors = {key: value.to(torch.float32) for key, value in tensors.items()}
    model.load_state_dict(tensors, strict=True, assign=True)
    return model.to(device).eval()


@torch.inference_mode()
def run(
    net: DepthAnythingForDepthEstimation, rgb: np.ndarray, settings: Mapping[str, float]
) -> np.ndarray:
    """The depth map of `rgb` (H x W x 3 uint8): grey, near bright, H x W x 3 uint8."""
    height, width = rgb.shape[:2]
    device = next(net.parameters()).device
    pixels = to_tensor(rgb).to(device)
    depth = net(pixel_values=pixels).predicted_depth  # 1 x h x w, at the network's size
    depth = F.interpolate(depth[:, None], (height, width), mode="bilinear", align_corners=True)
    return to_map(depth[0, 0].float().cpu().numpy())


def network_size(height: int, width: int) -> tuple[int, int]:
    """The original's Resize(lower_bound, keep_aspect_ratio, ensure_multiple_of=14): one
    scale for both sides, so the shorter reaches 518; each side rounded to a multiple of
    14 (halves to even, as numpy rounds), rounded up instead where that falls below 518."""
    scale = max(SHORT_SIDE / height, SHORT_SIDE / width)
    return _multiple(scale * height), _multiple(scale * width)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """1 x 3 x h x w float32: bicubic to network_size, 0..1, ImageNet mean and std."""
    height, width = network_size(*rgb.shape[:2])
    image = rgb.astype(np.float32) / 255.0
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)
    image = (image - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def to_map(depth: np.ndarray) -> np.ndarray:
    """Relative depth stretched over 0..255 (truncated, as the original's astype(uint8)),
    grey in three channels. A flat prediction is black: there is no near or far."""
    low, high = float(depth.min()), float(depth.max())
    # Resizing a flat prediction leaves float32 rounding (a few parts in 10^7): stretched,
    # that noise would fill the map. Real depth spans far more than 10^-5 of its value.
    if not high - low > FLAT * max(abs(high), abs(low)):  # also a NaN prediction
        grey = np.zeros(depth.shape, dtype=np.uint8)
    else:
        grey = np.clip((depth - low) / (high - low) * 255.0, 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _multiple(side: float) -> int:
    rounded = int(np.round(side / PATCH)) * PATCH
    return rounded if rounded >= SHORT_SIDE else int(np.ceil(side / PATCH)) * PATCH


def _read(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix.lower() == ".safetensors":
            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():  # the weights-only unpickler refused a call
            raise BadInput(would_run_code(path)) from None
        raise BadInput(_damaged(path)) from None
    except Exception:  # noqa: BLE001 - torch's unpickler fails on garbage with any error
        raise BadInput(_damaged(path)) from None
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise BadInput(_not_depth_anything(path, "it holds no plain table of tensors"))
    return state


def _damaged(path: Path) -> str:
    return (
        f"The depth annotator {path.name} is damaged or not a weights file. Download "
        f"{FILES[-1]} (or {FILES[1]}, {FILES[0]}) again from the Depth-Anything-V2 release."
    )


def _not_depth_anything(path: Path, reason: str) -> str:
    return (
        f"The depth annotator {path.name} is not a Depth Anything V2 network ({reason}). "
        f"The depth preprocessor needs {FILES[0]}, {FILES[1]} or {FILES[2]} from the "
        "Depth-Anything-V2 release."
    )
