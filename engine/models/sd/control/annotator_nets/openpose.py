"""OpenPose body (body_pose_model.pth): the image's people drawn as sd-webui-controlnet
draws them, the map every OpenPose ControlNet understands.

One scale, the one sd-webui-controlnet and controlnet_aux run: the image brought to 184
pixels high (half OpenPose's box of 368; their `scale_search = [0.5]`), padded to a
multiple of the network's stride, as BGR in [-0.5, 0.5) like the Caffe original. The
maps are enlarged back to that image, decoded into people there, and the people drawn at
the image's own size. No settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.models.sd.control.annotator_nets.openpose_draw import draw_people
from engine.models.sd.control.annotator_nets.openpose_net import (
    STRIDE,
    BodyPoseNet,
    load_body_net,
)
from engine.models.sd.control.annotator_nets.openpose_skeleton import Keypoints, find_people

FILES = ("body_pose_model.pth",)
HEIGHT = 184  # what the network sees: 0.5 x 368, as the reference tools run it
PAD_VALUE = 128  # grey, as the Caffe original pads


def load(path: Path, device: torch.device) -> BodyPoseNet:
    return load_body_net(path, device)


def run(net: BodyPoseNet, rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """The pose map (H x W x 3 uint8, black where nobody is) of an RGB image."""
    height, width = rgb.shape[:2]
    image = _fitted(rgb)
    heatmaps, pafs = network_maps(net, image)
    people = find_people(heatmaps, pafs)
    sx, sy = width / image.shape[1], height / image.shape[0]
    return draw_people(height, width, [_scaled(person, sx, sy) for person in people])


def network_maps(net: BodyPoseNet, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(heatmaps H x W x 19, PAFs H x W x 38) of the RGB image, at its size."""
    height, width = rgb.shape[:2]
    padded = cv2.copyMakeBorder(
        np.ascontiguousarray(rgb[:, :, ::-1]),  # the Caffe model was trained on BGR
        0,
        -height % STRIDE,
        0,
        -width % STRIDE,
        cv2.BORDER_CONSTANT,
        value=(PAD_VALUE,) * 3,
    )
    device = next(net.parameters()).device
    pixels = torch.from_numpy(padded).to(device).permute(2, 0, 1)[None].float() / 256 - 0.5
    with torch.inference_mode():
        pafs, heatmaps = net(pixels)
    return upsample(_hwc(heatmaps), height, width), upsample(_hwc(pafs), height, width)


def upsample(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """Maps at 1/STRIDE (of the padded image) enlarged to it, the padding cut off."""
    enlarged = cv2.resize(maps, None, fx=STRIDE, fy=STRIDE, interpolation=cv2.INTER_CUBIC)
    if enlarged.ndim == 2:  # OpenCV drops a single channel's axis
        enlarged = enlarged[:, :, None]
    return np.ascontiguousarray(enlarged[:height, :width])


def _hwc(maps: torch.Tensor) -> np.ndarray:
    return maps[0].permute(1, 2, 0).float().cpu().numpy()


def _fitted(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    if height == HEIGHT:
        return rgb
    scale = HEIGHT / height
    size = (max(round(width * scale), 1), HEIGHT)
    shrinking = scale < 1
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _scaled(person: Keypoints, sx: float, sy: float) -> Keypoints:
    # A map pixel's centre, in the larger image's pixels.
    return [
        None if p is None else ((p[0] + 0.5) * sx - 0.5, (p[1] + 0.5) * sy - 0.5) for p in person
    ]
