"""The segmentation annotator: an ADE20K semantic-segmentation model in Hugging Face's
format (SegFormer, UperNet, BEiT, DPT… a folder with config.json and its weights, as on
the Hub), run by transformers, its classes painted in the ADE20K palette ControlNet's
seg models were trained on (the palette of mmsegmentation's ADE20KDataset, which
ControlNet's UniFormer and OneFormer annotators draw with).

A folder rather than the A1111 UniFormer/OneFormer file: transformers runs these models
itself, so nothing of theirs is written out here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.api.errors import BadInput

FILES = ("segformer-b0-finetuned-ade-512-512",)  # a folder: see engine.library.annotators
SIDE = 512  # the ADE20K models' training crop: the short side is brought to it
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# ADE20K's 150 class colours in class order, as mmsegmentation lists them (RGB).
PALETTE_HEX = """
787878 b47878 06e6e6 503232 04c803 787850 8c8c8c cc05ff e6e6e6 04fa07 e005ff ebff07
96053d 787846 08ff33 ff0652 8fff8c ccff04 ff3307 cc4603 0066c8 3de6fa ff0633 0b66ff
ff0747 ff09e0 0907e6 dcdcdc ff095c 7009ff 08ffd6 07ffe0 ffb806 0aff47 ff290a 07ffff
e0ff08 6608ff ff3d06 ffc207 ff7a08 00ff14 ff0829 ff0599 0633ff eb0cff a09614 00a3ff
8c8c8c fa0a0f 14ff00 1fff00 ff1f00 ffe000 99ff00 0000ff ff4700 00ebff 00adff 1f00ff
0bc8c8 ff5200 00fff5 003dff 00ff70 00ff85 ff0000 ffa300 ff6600 c2ff00 008fff 33ff00
0052ff 00ff29 00ffad 0a00ff adff00 00ff99 ff5c00 ff00ff ff00f5 ff0066 ffad00 ff0014
ffb8b8 001fff 00ff3d 0047ff ff00cc 00ffc2 00ff52 000aff 0070ff 3300ff 00c2ff 007aff
00ffa3 ff9900 00ff0a ff7000 8fff00 5200ff a3ff00 ffeb00 08b8aa 8500ff 00ff5c b800ff
ff001f 00b8ff 00d6ff ff0070 5cff00 00e0ff 70e0ff 46b8a0 a300ff 9900ff 47ff00 ff00a3
ffcc00 ff008f 00ffeb 85ff00 ff00eb f500ff ff007a fff500 0abed4 d6ff00 00ccff 1400ff
ffff00 0099ff 0029ff 00ffcc 2900ff 29ff00 ad00ff 00f5ff 4700ff 7a00ff 00ffb8 005cff
b8ff00 0085ff ffd600 19c2c2 66ff00 5c00ff
"""
PALETTE = np.frombuffer(bytes.fromhex(PALETTE_HEX.replace("\n", " ")), np.uint8).reshape(-1, 3)


@dataclass(frozen=True)
class Segmenter:
    model: torch.nn.Module  # a transformers *ForSemanticSegmentation, in eval mode
    mean: tuple[float, ...]  # the image normalisation it was trained with
    std: tuple[float, ...]


def load(path: Path, device: torch.device) -> Segmenter:
    """The model of the transformers folder `path`, on `device`."""
    from transformers import AutoModelForSemanticSegmentation

    try:
        model = AutoModelForSemanticSegmentation.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise BadInput(
            f"{path} is not a segmentation model transformers can read ({error}). Use a "
            "folder as the Hub has it: config.json and model.safetensors of an ADE20K "
            "SegFormer or UperNet."
        ) from error
    if model.config.num_labels != len(PALETTE):
        raise BadInput(
            f"{path} segments {model.config.num_labels} classes; ControlNet's seg models "
            f"need ADE20K's {len(PALETTE)}. Use an ADE20K model (e.g. "
            "segformer-b0-finetuned-ade-512-512)."
        )
    return Segmenter(model.eval().to(device), *_normalisation(path))


def run(net: Segmenter, rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """The ADE20K colour map of `rgb` (H x W x 3 uint8), at its size."""
    del settings  # none: the classes are what they are
    height, width = rgb.shape[:2]
    device = next(net.model.parameters()).device
    pixels = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float() / 255
    scale = SIDE / min(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    pixels = F.interpolate(pixels, size=size, mode="bilinear", align_corners=False)
    mean, std = (torch.tensor(v, device=device).view(1, 3, 1, 1) for v in (net.mean, net.std))
    logits = net.model(pixel_values=(pixels - mean) / std).logits
    logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
    classes = logits.argmax(dim=1)[0].cpu().numpy()
    return PALETTE[classes]


def _normalisation(folder: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The image mean and deviation the model was trained with (its processor's file),
    else ImageNet's, which SegFormer and UperNet use."""
    try:
        config = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
        mean, std = tuple(map(float, config["image_mean"])), tuple(map(float, config["image_std"]))
    except (OSError, ValueError, KeyError, TypeError):
        return IMAGENET_MEAN, IMAGENET_STD
    if len(mean) != 3 or len(std) != 3:
        return IMAGENET_MEAN, IMAGENET_STD
    return mean, std
