"""Training a NADE: presets, and one Adam step on the exact negative log-likelihood of a
minibatch per training step.

The likelihood is exact (a product of the conditionals), so training is plain maximum
likelihood by backpropagation (Larochelle & Murray 2011, section 3; Adam where they used
SGD). Seeded: the initial weights and the minibatch order come from the seed, and both
the optimizer's moments and the order are in the training state, so a resumed training
ends where one never stopped does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.models.common.binary_pixels import binarise, binary_training_images
from engine.models.common.images import to_rgb_uint8
from engine.models.nade.files import save_nade
from engine.models.nade.network import Nade
from engine.models.nade.pixels import NadeConfig, as_images
from engine.models.nade.sampling import pictures
from engine.train.datasets import ArrayData, EpochOrder, ShapesSource
from engine.train.state import TrainingState

PREVIEW_SAMPLES = 16
INIT_SCALE = 0.05  # the initial weights' standard deviation


@dataclass(frozen=True)
class NadeTrainSettings:
    hidden: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0  # Adam's (L2 on every weight and bias)


@dataclass(frozen=True)
class NadePreset:
    settings: NadeTrainSettings = field(default_factory=NadeTrainSettings)
    steps: int = 4000
    seed: int = 0
    # Torch threads of the reproducible run (python -m engine.train): one, as a NADE's
    # products are small (64 x 64 x 200 a step); a second thread mostly waits, and on a
    # shared machine it made the run five times slower.
    threads: int = 1


NADE_PRESETS: dict[str, NadePreset] = {
    # Held-out bits per pixel (binarised digits), measured: 100 hidden units 0.397 after
    # 4,000 steps, 0.386 after 10,500 (then flat); 200 hidden 0.384 after 7,500–8,750,
    # rising again by 10,000 (training 0.30: overfitting the 1,257 digits); 300 hidden
    # with weight decay 1e-4 tracked 200 without.
    "digits": NadePreset(NadeTrainSettings(200, 64, 1e-3, 0.0), steps=8000),
}


def nade_preset(name: str) -> NadePreset:
    """A bundled data set's preset, or the default for a folder of grey images."""
    return NADE_PRESETS.get(name, NadePreset())


def training_images(data: ArrayData | ShapesSource) -> torch.Tensor:
    """The bundled digits without the meter's held-out part, or every image of a set."""
    return binary_training_images(data, "NADE")


class NadeTrainer:
    def __init__(
        self,
        config: NadeConfig,
        data: ArrayData | ShapesSource,
        settings: NadeTrainSettings,
        seed: int,
    ) -> None:
        config.check()
        self.config, self.settings, self.seed = config, settings, seed
        self.points = binarise(training_images(data)).float()
        self.batch_size = settings.batch_size
        self.nade = self._start(torch.Generator().manual_seed(seed))
        self.order = EpochOrder(len(self.points), seed + 1)
        self.optimizer = torch.optim.Adam(
            self.nade.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
        )
        self.preview_seeds = range(seed, seed + PREVIEW_SAMPLES)
        self.state = TrainingState()
        self.state.modules["nade"] = self.nade
        self.state.optimizers["adam"] = self.optimizer
        self.state.generators["order"] = self.order

    def _start(self, generator: torch.Generator) -> Nade:
        """Small random weights, no hidden bias, each pixel's bias at its log-odds in the
        data (so the untrained model already knows where ink usually is)."""
        h, d = self.settings.hidden, self.config.dims
        nade = Nade(d, h)
        with torch.no_grad():
            nade.weights_in.copy_(INIT_SCALE * torch.randn(h, d, generator=generator))
            nade.weights_out.copy_(INIT_SCALE * torch.randn(d, h, generator=generator))
            mean = self.points.mean(0).clamp(1e-2, 1 - 1e-2)
            nade.visible_bias.copy_(torch.log(mean) - torch.log1p(-mean))
        return nade

    def step(self) -> dict[str, float]:
        v = self.points[self.order.take(self.batch_size)]
        self.optimizer.zero_grad(set_to_none=True)
        loss = -self.nade.log_prob(v).mean()
        loss.backward()
        self.optimizer.step()
        self.state.steps_done += 1
        nats = loss.item()
        return {"loss": nats, "bits_per_dim": nats / self.config.dims / math.log(2)}

    def samples(self) -> list[np.ndarray]:
        copy = Nade.from_tensors(self.nade.tensors())  # in float64, as sampling loads it
        pixels = pictures(copy.double(), self.preview_seeds)
        return list(to_rgb_uint8(as_images(pixels, self.config)))

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        save_nade(path, self.nade, self.config, meta)


def training_meta(data_info: Any, settings: NadeTrainSettings, seed: int, count: int) -> dict:
    return {
        "dataset": data_info.name,
        "dataset_sha256": data_info.fingerprint,
        "train": asdict(settings),
        "training_images": count,
        "seed": seed,
        "torch": torch.__version__,
    }
