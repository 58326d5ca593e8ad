"""Training the bundled upscalers `lite-x2` and `lite-x4`.

    python -m engine.train sr --scale 2|4 [--steps N] [--out PATH]

The network is Real-ESRGAN's compact SRVGGNet (spandrel's `Compact`), narrow enough for a
CPU, so the files load through spandrel like any community upscaler and work in other
tools too. Training data: scikit-image's sample photos (`skimage.data`) and the bundled
emoji, nothing else; the photos of other packages (scikit-learn's china and flower) are
kept for evaluation (bench/upscale.py). The low-resolution input is the photo downscaled
with Pillow's bicubic resize, as the issue and the benchmark define it. The adversarial
`lite-x4-gan` is lite-x4 fine-tuned by gan_training.py, on the same patches.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save
from spandrel.architectures.Compact import Compact

from engine.atomic import write_bytes_atomic
from engine.train.determinism import deterministic_cpu

# The colour photos of skimage.data that ship inside its wheel (no download), and grey
# ones that add texture and text. Others need a download and are left out.
SKIMAGE_PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
    "immunohistochemistry", "camera", "moon", "brick", "grass", "gravel", "text", "page",
    "clock", "coins", "horse", "logo", "colorwheel", "retina", "cell",
)  # fmt: skip


@dataclass(frozen=True)
class SrPreset:
    scale: int
    num_feat: int
    num_conv: int
    steps: int
    patch: int = 32  # low-resolution pixels a side of a training patch
    batch_size: int = 16
    learning_rate: float = 1e-3
    seed: int = 0
    threads: int = 1  # the two presets train side by side, one core each


SR_PRESETS = {
    2: SrPreset(2, num_feat=32, num_conv=6, steps=3000),
    4: SrPreset(4, num_feat=32, num_conv=6, steps=2000),
}


def training_photos() -> list[np.ndarray]:
    """The training images as H x W x 3 uint8: skimage's photos, then the emoji sheet."""
    from skimage import data as skdata

    photos = []
    for name in SKIMAGE_PHOTOS:
        try:
            image = np.asarray(getattr(skdata, name)())
        except Exception:  # noqa: BLE001 - a photo that needs a download: left out
            continue
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        photos.append(np.ascontiguousarray(image[:, :, :3]).astype(np.uint8))
    photos.append(_emoji_sheet())
    return photos


def _emoji_sheet() -> np.ndarray:
    """The bundled emoji (32 px drawings) as one image, 16 to a row."""
    from engine.data.emoji import EMOJI_PATH

    with np.load(EMOJI_PATH, allow_pickle=False) as data:
        images = data["images"][:256]
    rows = [np.concatenate(list(images[i : i + 16]), axis=1) for i in range(0, 256, 16)]
    return np.concatenate(rows, axis=0)


def bicubic_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """The low-resolution input: Pillow's bicubic resize (with its antialiasing)."""
    height, width = image.shape[0] // scale, image.shape[1] // scale
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))


class PatchSampler:
    """Random aligned (low, high) patch pairs, flipped and turned at random."""

    def __init__(self, photos: list[np.ndarray], scale: int, patch: int, seed: int) -> None:
        self.scale, self.patch = scale, patch
        self.pairs = []
        for photo in photos:
            high = photo[: photo.shape[0] // scale * scale, : photo.shape[1] // scale * scale]
            low = bicubic_downscale(high, scale)
            if min(low.shape[:2]) >= patch:
                self.pairs.append((low, high))
        # Photos are picked in proportion to their area, so each pixel is as likely.
        areas = np.array([low.shape[0] * low.shape[1] for low, _ in self.pairs], dtype=float)
        self.weights = areas / areas.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        lows, highs = [], []
        for _ in range(size):
            low, high = self.pairs[self.rng.choice(len(self.pairs), p=self.weights)]
            y = int(self.rng.integers(0, low.shape[0] - self.patch + 1))
            x = int(self.rng.integers(0, low.shape[1] - self.patch + 1))
            s, p = self.scale, self.patch
            pair = [low[y : y + p, x : x + p], high[y * s : (y + p) * s, x * s : (x + p) * s]]
            turns, flip = int(self.rng.integers(4)), bool(self.rng.integers(2))
            pair = [np.rot90(a, turns) for a in pair]
            if flip:
                pair = [a[:, ::-1] for a in pair]
            lows.append(pair[0])
            highs.append(pair[1])
        return _to_tensor(np.stack(lows)), _to_tensor(np.stack(highs))


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


def train_sr(preset: SrPreset, out: Path, steps: int = 0, log=print) -> Path:
    """Train one upscaler and write it (safetensors + JSON record) to `out`."""
    steps = steps or preset.steps
    started = time.perf_counter()
    with deterministic_cpu(preset.seed, preset.threads):
        net = Compact(num_feat=preset.num_feat, num_conv=preset.num_conv, upscale=preset.scale)
        sampler = PatchSampler(training_photos(), preset.scale, preset.patch, preset.seed)
        optimizer = torch.optim.Adam(net.parameters(), lr=preset.learning_rate)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps))
        )
        running = 0.0
        for step in range(1, steps + 1):
            low, high = sampler.batch(preset.batch_size)
            loss = torch.nn.functional.l1_loss(net(low), high)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 200 == 0 or step == steps:
                log(json.dumps({"step": step, "l1": round(running, 5)}))
    seconds = time.perf_counter() - started
    return save_upscaler(net, preset, out, steps, seconds)


def save_upscaler(net: torch.nn.Module, preset: SrPreset, out: Path, steps: int, seconds: float):
    config = {"architecture": "RealESRGAN Compact", **asdict(preset)}
    return write_upscaler(net, out, config, {"steps": steps, "train_seconds": round(seconds, 1)})


def write_upscaler(net: torch.nn.Module, out: Path, config: dict, meta: dict) -> Path:
    """The network as a plain Compact state dict any spandrel tool loads, and its JSON
    record beside it (both written atomically)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    write_bytes_atomic(out, save(tensors))
    record = {
        "family": "upscale",
        "format": 1,
        "config": config,
        "meta": {"dataset": "skimage.data photos + emoji", "torch": torch.__version__, **meta},
    }
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(out.with_suffix(".json"), text.encode())
    return out
