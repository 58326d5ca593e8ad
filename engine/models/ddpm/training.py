"""Training the DDPM (Ho et al. 2020): noise an image to a random step t, predict the noise.

The loss is the mean squared error between the noise added and the noise predicted (or,
for a v-prediction model, between the velocity sqrt(abar) eps - sqrt(1 - abar) x0 and its
prediction).
Class-conditional models drop the class 10 % of the time, so one network also learns the
unconditional model that classifier-free guidance needs (Ho & Salimans 2022). Sampling
uses an exponential moving average of the weights.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.api.errors import BadInput
from engine.models.common.construction import building_models
from engine.models.common.images import to_rgb_uint8
from engine.models.ddpm.files import save_ddpm
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.ddpm.sampling import sample
from engine.models.ddpm.schedule import training_scheduler
from engine.train.datasets import ArrayData, ShapesSource
from engine.train.state import TrainingState

PREVIEW_SAMPLES = 16
PREVIEW_STEPS = 20
LABEL_DROPOUT = 0.1


@dataclass(frozen=True)
class DdpmTrainSettings:
    batch_size: int = 128
    learning_rate: float = 2e-3
    ema: float = 0.995
    conditional: bool = True  # on the data's classes, when it has some


@dataclass(frozen=True)
class DdpmPreset:
    config: DdpmConfig
    steps: int
    settings: DdpmTrainSettings = field(default_factory=DdpmTrainSettings)
    seed: int = 0
    threads: int = 2  # torch threads of the reproducible run (python -m engine.train)
    # The guidance scale sampling uses by default. Measured on the digits preset with 500
    # samples: 1.0 -> 0.88 recognisable, 1.25 -> 0.92, 1.5 -> 0.88, 2.0 -> 0.60.
    guidance: float = 1.25


DDPM_PRESETS: dict[str, DdpmPreset] = {
    # Measured: 2,200 steps reach 0.92 recognisable digits with 50 DDIM steps and the
    # default guidance (2,500 steps: 0.92 too, but 324 s, past the 300 s budget).
    "digits": DdpmPreset(DdpmConfig(8, 1, (32, 64), 10), steps=2_200),
    # At 32 px the U-Net works on 2 x 2 patches, (32, 64, 64) wide at 16, 8 and 4 px: 64
    # samples of 50 DDIM steps take about 4.7 s on two CPU threads ((32, 64, 64) on whole
    # pixels: 15.6 s). It predicts v: predicting the noise, two trainings (whole pixels and
    # patches) drew only coloured blobs, because the first sampling steps' clean image
    # divides by sqrt(abar) ~ 0.03. Unguided by default (1.0): the class still picks the
    # kind, and guidance would double the sampling time.
    "shapes": DdpmPreset(
        DdpmConfig(
            32, 3, (32, 64, 64), 4, patch=2, prediction="v_prediction", activated_embedding=True
        ),
        steps=4_000,
        settings=DdpmTrainSettings(64, 1e-3, 0.995),
        guidance=1.0,
        # One thread: on a shared machine two threads spun against each other at 28 s a
        # step (one thread: about 1 s); alone, two are only about 1.5 times faster.
        threads=1,
    ),
    "emoji": DdpmPreset(
        DdpmConfig(32, 3, (32, 64, 64), 0, patch=2, prediction="v_prediction"),
        steps=4_000,
        settings=DdpmTrainSettings(64, 1e-3, 0.995),
    ),
}


def ddpm_preset(name: str, size: int = 0, channels: int = 3) -> DdpmPreset:
    if name in DDPM_PRESETS:
        return DDPM_PRESETS[name]
    if size not in (16, 32, 64):
        raise BadInput(f"A DDPM trains on 16, 32 or 64 px images, not {size}.")
    widths = {16: (32, 64), 32: (32, 64, 64), 64: (32, 64, 64, 128)}[size]
    return DdpmPreset(
        DdpmConfig(
            size, channels, widths, 0, patch=1 if size == 16 else 2, prediction="v_prediction"
        ),
        steps=6_000,
        settings=DdpmTrainSettings(64, 1e-3, 0.999),
    )


class DdpmTrainer:
    def __init__(
        self,
        config: DdpmConfig,
        data: ArrayData | ShapesSource,
        settings: DdpmTrainSettings,
        total_steps: int,
        seed: int,
        device: str = "cpu",
    ) -> None:
        if config.num_classes and config.num_classes != data.info.num_classes:
            raise BadInput(
                f"This DDPM draws {config.num_classes} classes; "
                f"the data set has {data.info.num_classes}."
            )
        self.config, self.data, self.settings, self.device = config, data, settings, device
        self.batch_size = settings.batch_size
        self.total_steps = max(1, total_steps)
        with building_models, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.unet = UNet(config).to(device)
            self.average = copy.deepcopy(self.unet)
        self.optimizer = torch.optim.AdamW(
            self.unet.parameters(), settings.learning_rate, weight_decay=0.0
        )
        self.scheduler = training_scheduler(config)
        self.eps = config.prediction == "epsilon"
        self.noise = torch.Generator("cpu").manual_seed(seed)
        self.state = TrainingState()
        self.state.modules.update(unet=self.unet, average=self.average)
        self.state.optimizers["adamw"] = self.optimizer
        self.state.generators["noise"] = self.noise
        self.state.generators["data"] = data.generator  # the epoch order, or the shapes drawn
        self.preview_seeds = [seed + i for i in range(PREVIEW_SAMPLES)]

    def step(self) -> dict[str, float]:
        step = self.state.steps_done
        for group in self.optimizer.param_groups:
            group["lr"] = (
                self.settings.learning_rate
                * 0.5
                * (1 + math.cos(math.pi * step / self.total_steps))
            )
        images, labels = self.data.batch(self.batch_size)
        x0 = images * 2 - 1
        noise = torch.randn(x0.shape, generator=self.noise)
        t = torch.randint(0, self.config.timesteps, (len(x0),), generator=self.noise)
        xt = self.scheduler.add_noise(x0, noise, t)
        y = None
        if self.config.num_classes:
            drop = torch.rand(len(x0), generator=self.noise) < LABEL_DROPOUT
            y = torch.where(drop, torch.full_like(labels, self.config.null_label), labels).to(
                self.device
            )
        target = noise if self.eps else self.scheduler.get_velocity(x0, noise, t)
        self.unet.train()
        loss = F.mse_loss(
            self.unet(xt.to(self.device), t.to(self.device), y), target.to(self.device)
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._average()
        self.state.steps_done = step + 1
        return {"eps_mse" if self.eps else "v_mse": loss.item()}

    @torch.no_grad()
    def _average(self) -> None:
        decay = self.settings.ema
        for averaged, current in zip(
            self.average.parameters(), self.unet.parameters(), strict=True
        ):
            averaged.mul_(decay).add_(current, alpha=1 - decay)

    def samples(self) -> list[np.ndarray]:
        self.average.eval()
        labels = [i % max(1, self.config.num_classes) for i in range(PREVIEW_SAMPLES)]
        images = sample(self.average, self.config, self.preview_seeds, labels, PREVIEW_STEPS)
        return list(to_rgb_uint8(images))

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        self.average.eval()
        save_ddpm(path, self.average, self.config, meta)


def training_meta(
    data_info: Any, settings: DdpmTrainSettings, seed: int, guidance: float = 1.0
) -> dict[str, Any]:
    return {
        "default_guidance": guidance,
        "dataset": data_info.name,
        "dataset_sha256": data_info.fingerprint,
        "classes": list(data_info.class_names),
        "train": asdict(settings),
        "seed": seed,
        "torch": torch.__version__,
    }
