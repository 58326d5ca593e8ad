"""Training the PixelCNN: presets, and one Adam step on the exact negative log-likelihood
of a minibatch a step.

The loss is −log p(x) per pixel value, in bits: the sum of each pixel's softmax
cross-entropy given the pixels before it, the very figure the score runner reports on
held-out images. Seeded: the initial weights come from the seed, and the minibatch order
(digits: a seeded order each epoch; shapes: the seeded stream of fresh drawings) is in the
training state with Adam's moments, so a resumed training ends where one never stopped
does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.models.common.images import to_rgb_uint8
from engine.models.pixelcnn.files import save_pixelcnn
from engine.models.pixelcnn.net import PixelCnn
from engine.models.pixelcnn.pixels import PixelcnnConfig, to_levels
from engine.models.pixelcnn.sampling import sample
from engine.train.datasets import ArrayData, EpochOrder, ShapesSource

PREVIEW_SAMPLES = 8


@dataclass(frozen=True)
class PixelcnnTrainSettings:
    width: int = 32
    layers: int = 4
    kernel: int = 5
    head: int = 64
    batch_size: int = 64
    learning_rate: float = 1e-3
    dilation_cycle: int = 1  # see PixelcnnConfig: 1, no dilation


@dataclass(frozen=True)
class PixelcnnPreset:
    settings: PixelcnnTrainSettings = field(default_factory=PixelcnnTrainSettings)
    steps: int = 2000
    seed: int = 0
    # Torch threads of the reproducible run (python -m engine.train). One: the
    # convolutions are small, and on two shared cores a second thread mostly waits.
    threads: int = 1


PIXELCNN_PRESETS: dict[str, PixelcnnPreset] = {
    # 4 layers of 5-wide kernels see the whole 8 x 8 digit before each pixel. The 1,257
    # training digits are soon learnt by heart; held-out bits/dim (training's): 16
    # features 1.89 at 500 steps, 1.81 at 1,500, 1.85 at 2,500; 24 features 2.23 (1.35)
    # at 3,000; 24 with AdamW's weight decay 0.05 1.80 at 1,000, 1.81 at 1,500.
    "digits": PixelcnnPreset(PixelcnnTrainSettings(16, 4, 5, 32, 32, 2e-3), steps=1500),
    # Colour: the features split in three shares (R, G, B), so a multiple of 3. 32 x 32,
    # as the shapes meter reads them. 8 layers of 3-wide kernels dilated 1, 2, 4, 8, 1, 2,
    # 4, 8 reach 30 pixels up and to the sides, a whole shape; undilated (4 layers: 4
    # pixels) the samples filled the frame and the meter recognised none of them.
    # Dilated, 2,500 steps (1,251 s wall on the shared 2 cores): 0.079 bits/dim on fresh
    # shapes (training's 0.077, still falling); its shapes end, in 4 of 4 kinds, but
    # are mostly lumpy blobs: recognisable 0.292 (real 0.918), realism 0.46, diversity
    # 0.41, factor coverage 0.95, copies 0, repeats 13 %. Short of the 0.3 a bundled
    # model needs, so none is bundled; a longer run is the next try. 64 samples: 46 s
    # of CPU on one thread (3,072 passes of the horizontal stack).
    "shapes": PixelcnnPreset(PixelcnnTrainSettings(24, 8, 3, 48, 8, 2e-3, 4), steps=2500),
}


def pixelcnn_preset(name: str) -> PixelcnnPreset:
    """A bundled data set's preset, or the colour one for emoji or a folder of images."""
    return PIXELCNN_PRESETS.get(name, PIXELCNN_PRESETS["shapes"])


def config_for(size: int, channels: int, levels: int, settings: PixelcnnTrainSettings):
    return PixelcnnConfig(
        size,
        channels,
        levels,
        settings.width,
        settings.layers,
        settings.kernel,
        settings.head,
        settings.dilation_cycle,
    )


def training_images(data: ArrayData) -> torch.Tensor:
    """The bundled digits without the meter's held-out part, or every image of a set."""
    if data.info.name == "digits":
        from engine.quality.splits import digit_splits

        x, _y, split = digit_splits()
        if len(x) == len(data.images):
            keep = torch.cat([split["train"], split["calibrate"]]).sort().values
            return data.images[keep]
    return data.images


class _Batches:
    """Minibatches of levels: a finite set in a seeded order each epoch, or shapes drawn
    afresh; `generator` is what a training state saves."""

    def __init__(self, data: ArrayData | ShapesSource, levels: int, seed: int) -> None:
        self.levels, self.source = levels, data if isinstance(data, ShapesSource) else None
        self.images = None if self.source else to_levels(training_images(data), levels)
        self.generator = self.source.generator if self.source else EpochOrder(self.count, seed)

    @property
    def count(self) -> int:
        return 0 if self.images is None else len(self.images)

    def take(self, size: int) -> torch.Tensor:
        if self.source is not None:
            return to_levels(self.source.batch(size)[0], self.levels)
        return self.images[self.generator.take(size)]


class PixelcnnTrainer:
    def __init__(
        self,
        config: PixelcnnConfig,
        data: ArrayData | ShapesSource,
        settings: PixelcnnTrainSettings,
        seed: int,
    ) -> None:
        from engine.train.state import TrainingState

        config.check()
        self.config, self.settings = config, settings
        self.batches = _Batches(data, config.levels, seed + 1)
        self.batch_size = settings.batch_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = PixelCnn(config)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=settings.learning_rate)
        self.preview_seeds = range(seed, seed + PREVIEW_SAMPLES)
        self.state = TrainingState()
        self.state.modules["net"] = self.net
        self.state.optimizers["adam"] = self.optimizer
        self.state.generators["data"] = self.batches.generator

    def step(self) -> dict[str, float]:
        batch = self.batches.take(self.batch_size)
        nats = -self.net.log_prob(batch).mean() / self.config.dims
        self.optimizer.zero_grad(set_to_none=True)
        nats.backward()
        self.optimizer.step()
        self.state.steps_done += 1
        return {"bits_per_dim": nats.item() / math.log(2)}

    def samples(self) -> list[np.ndarray]:
        return list(to_rgb_uint8(sample(self.net.eval(), self.preview_seeds)))

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        save_pixelcnn(path, self.net, self.config, meta)


def training_meta(data_info: Any, settings: PixelcnnTrainSettings, seed: int, count: int) -> dict:
    return {
        "dataset": data_info.name,
        "dataset_sha256": data_info.fingerprint,
        "train": _settings_record(settings),
        "training_images": count,
        "seed": seed,
        "torch": torch.__version__,
    }


def _settings_record(settings: PixelcnnTrainSettings) -> dict:
    """The settings as a file records them; without a dilation, as before it existed."""
    data = asdict(settings)
    if settings.dilation_cycle == 1:
        del data["dilation_cycle"]
    return data
