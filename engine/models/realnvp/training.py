"""Training the flow: Adam on the exact negative log-likelihood, one minibatch a step.

Each minibatch is dequantised afresh (noise from the seed), so the flow fits the
continuous density whose bits per dimension bound the pixels'. Seeded: the initial
weights, the minibatch order (or the shapes drawn) and the dequantisation noise all come
from the seed, and the training state keeps all of them with Adam's moments, so a resumed
training ends where one never stopped does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.models.common.images import to_rgb_uint8
from engine.models.realnvp.files import save_realnvp
from engine.models.realnvp.flow import RealNvp, decode, log_density
from engine.models.realnvp.pixels import (
    RealnvpConfig,
    bits_per_dim,
    checked_images,
    dequantise,
    quantise,
)
from engine.train.datasets import ArrayData, EpochOrder, ShapesSource

PREVIEW_SAMPLES = 16
MAX_GRAD_NORM = 100.0  # a rare huge gradient (a near-singular coupling) is cut, not taken


@dataclass(frozen=True)
class RealnvpTrainSettings:
    scales: int = 1
    width: int = 32
    blocks: int = 2
    batch_size: int = 64
    learning_rate: float = 1e-3


@dataclass(frozen=True)
class RealnvpPreset:
    settings: RealnvpTrainSettings = field(default_factory=RealnvpTrainSettings)
    steps: int = 2000
    seed: int = 0
    # Torch threads of the reproducible run (python -m engine.train). One: these
    # convolutions are tiny, and on a busy 2-core machine a second thread made a step
    # twenty times slower (1.75 s against 0.08 s), waiting on the first.
    threads: int = 1


REALNVP_PRESETS: dict[str, RealnvpPreset] = {
    # Sized to train in under five minutes on one core of a busy 2-core machine.
    "digits": RealnvpPreset(RealnvpTrainSettings(1, 24, 1, 64, 1e-3), steps=2000),
    "shapes": RealnvpPreset(RealnvpTrainSettings(2, 16, 0, 32, 1e-3), steps=1000),
}


def realnvp_preset(name: str) -> RealnvpPreset:
    """A bundled data set's preset, or the digits' for a folder of images."""
    return REALNVP_PRESETS.get(name, RealnvpPreset())


def training_images(data: ArrayData | ShapesSource) -> torch.Tensor | None:
    """The bundled digits without the meter's held-out part, or every image of a set;
    None for shapes, which are drawn afresh for every batch."""
    if isinstance(data, ShapesSource):
        return None
    if data.info.name == "digits":
        from engine.quality.splits import digit_splits

        x, _y, split = digit_splits()
        if len(x) == len(data.images):
            keep = torch.cat([split["train"], split["calibrate"]]).sort().values
            return checked_images(data.images[keep])
    return checked_images(data.images)


class RealnvpTrainer:
    def __init__(
        self,
        config: RealnvpConfig,
        data: ArrayData | ShapesSource,
        settings: RealnvpTrainSettings,
        seed: int,
    ) -> None:
        from engine.train.state import TrainingState

        config.check()
        self.config, self.settings, self.data = config, settings, data
        self.images = training_images(data)
        self.batch_size = settings.batch_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.flow = RealNvp(config)
        self.optimizer = torch.optim.Adam(self.flow.parameters(), lr=settings.learning_rate)
        self.noise = torch.Generator().manual_seed(seed + 1)  # the dequantisation noise
        self.state = TrainingState()
        self.state.modules["flow"] = self.flow
        self.state.optimizers["adam"] = self.optimizer
        self.state.generators["noise"] = self.noise
        if self.images is None:
            self.state.generators["data"] = data.generator  # the shapes drawn
        else:
            self.order = EpochOrder(len(self.images), seed + 2)
            self.state.generators["data"] = self.order
        self.preview_seeds = range(seed, seed + PREVIEW_SAMPLES)

    def _batch(self) -> torch.Tensor:
        if self.images is None:
            return checked_images(self.data.batch(self.batch_size)[0])
        return self.images[self.order.take(self.batch_size)]

    def step(self) -> dict[str, float]:
        self.flow.train()
        points = dequantise(self._batch(), self.config.levels, self.noise)
        loss = bits_per_dim(log_density(self.flow, points), self.config.dims, self.config.levels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.flow.parameters(), MAX_GRAD_NORM)
        self.optimizer.step()
        self.state.steps_done += 1
        return {"bits_per_dim": loss.item()}

    def samples(self) -> list[np.ndarray]:
        z = torch.cat(
            [
                torch.randn(1, self.config.dims, generator=torch.Generator().manual_seed(s))
                for s in self.preview_seeds
            ]
        )
        with torch.inference_mode():
            points = decode(self.flow.eval(), z)
        return list(to_rgb_uint8(quantise(points.nan_to_num(0.5), self.config.levels)))

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        save_realnvp(path, self.flow, self.config, meta)


def training_meta(data_info: Any, settings: RealnvpTrainSettings, seed: int, count: int) -> dict:
    return {
        "dataset": data_info.name,
        "dataset_sha256": data_info.fingerprint,
        "train": asdict(settings),
        "training_images": count,
        "seed": seed,
        "torch": torch.__version__,
    }
