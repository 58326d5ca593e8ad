"""Training the VAE: presets, one optimizer step at a time, and the learned prior.

Minibatch ELBO descent with a KL warm-up and a cosine learning rate (both in steps);
after training, a Gaussian mixture is fitted to where the training images land in the
latent space, and sampling draws from it (see engine.models.common.gmm).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.api.errors import BadInput
from engine.models.common.construction import building_models
from engine.models.common.gmm import Gmm, fit_gmm
from engine.models.vae.files import save_vae
from engine.models.vae.net import Vae, VaeConfig, decode_latents, elbo_loss
from engine.train.datasets import ArrayData, ShapesSource
from engine.train.state import TrainingState

PREVIEW_SAMPLES = 16
PRIOR_POINTS = 4096  # encoded images the mixture is fitted to


@dataclass(frozen=True)
class VaeTrainSettings:
    batch_size: int = 64
    learning_rate: float = 1e-3
    beta: float = 1.0  # weight of the KL term; below 1 trades prior match for sharpness
    kl_warmup: float = 0.1  # share of the steps over which beta ramps up from 0
    prior_components: int = 20  # of the learned prior (0: sample the standard normal)


@dataclass(frozen=True)
class VaePreset:
    config: VaeConfig
    steps: int
    settings: VaeTrainSettings = field(default_factory=VaeTrainSettings)
    seed: int = 0
    threads: int = 2  # torch threads of the reproducible run (python -m engine.train)


VAE_PRESETS: dict[str, VaePreset] = {
    # 150 epochs of the 1,797 digits. beta 0.5 keeps strokes sharp; the 20-component
    # prior turns 64 % recognisable samples (standard normal) into about 87 %.
    "digits": VaePreset(
        VaeConfig(8, 1, (256, 128), 8, "mlp"), steps=8550, settings=VaeTrainSettings(32, 1e-3, 0.5)
    ),
    "shapes": VaePreset(
        VaeConfig(32, 3, (32, 64, 128), 16, "conv"),
        steps=6000,
        settings=VaeTrainSettings(64, 1e-3, 1.0),
    ),
    "emoji": VaePreset(
        VaeConfig(32, 3, (32, 64, 128), 32, "conv"),
        steps=6000,
        settings=VaeTrainSettings(64, 1e-3, 0.5),
    ),
}


def vae_preset(name: str, size: int = 0, channels: int = 3) -> VaePreset:
    """A bundled data set's preset, or one for a folder of images of `size` px."""
    if name in VAE_PRESETS:
        return VAE_PRESETS[name]
    if size not in (16, 32, 64):
        raise BadInput(f"A VAE trains on 16, 32 or 64 px images, not {size}.")
    levels = {16: (64, 128), 32: (32, 64, 128), 64: (32, 64, 128, 256)}[size]
    return VaePreset(VaeConfig(size, channels, levels, 32, "conv"), steps=6000)


class VaeTrainer:
    def __init__(
        self,
        config: VaeConfig,
        data: ArrayData | ShapesSource,
        settings: VaeTrainSettings,
        total_steps: int,
        seed: int,
        device: str = "cpu",
    ) -> None:
        self.config, self.data, self.settings = config, data, settings
        self.batch_size = settings.batch_size
        self.total_steps = max(1, total_steps)
        self.device = device
        with building_models, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = Vae(config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.learning_rate)
        self.noise = torch.Generator(device).manual_seed(seed)
        self.preview_z = torch.randn(
            (PREVIEW_SAMPLES, config.latent_dim), generator=torch.Generator().manual_seed(seed)
        )
        self.seed = seed
        self.state = TrainingState()
        self.state.modules["vae"] = self.model
        self.state.optimizers["adam"] = self.optimizer
        self.state.generators["noise"] = self.noise
        self.state.generators["data"] = data.generator  # the epoch order, or the shapes drawn

    def step(self) -> dict[str, float]:
        step = self.state.steps_done
        for group in self.optimizer.param_groups:  # cosine to zero over the whole run
            group["lr"] = (
                self.settings.learning_rate
                * 0.5
                * (1 + math.cos(math.pi * step / self.total_steps))
            )
        warmup = max(1, int(self.settings.kl_warmup * self.total_steps))
        beta = self.settings.beta * min(1.0, (step + 1) / warmup)
        images, _labels = self.data.batch(self.batch_size)
        images = images.to(self.device)
        self.model.train()
        logits, mu, logvar = self.model(images, self.noise)
        loss = elbo_loss(logits, images, mu, logvar, beta)
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        self.optimizer.step()
        self.state.steps_done = step + 1
        return {"loss": loss.total.item(), "recon": loss.recon.item(), "kl": loss.kl.item()}

    def samples(self) -> list[np.ndarray]:
        self.model.eval()
        return list(decode_latents(self.model, self.preview_z))

    def fit_prior(self) -> Gmm | None:
        if self.settings.prior_components <= 0:
            return None
        images = self.data.sample_for_metrics(PRIOR_POINTS)
        self.model.eval()
        with torch.no_grad():
            mu, _ = self.model.encode(images.to(self.device))
        return fit_gmm(mu.cpu(), self.settings.prior_components, self.seed)

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        self.model.eval()
        try:
            prior = self.fit_prior()
        except (RuntimeError, ValueError) as exc:
            # The prior only improves sampling: a training is never lost to it. Sampling
            # then draws from the standard normal, as a model without a prior does.
            prior = None
            meta = {**meta, "prior_note": f"no learned prior: it could not be fitted ({exc})"}
        save_vae(path, self.model, self.config, meta, prior)


def training_meta(data_info: Any, settings: VaeTrainSettings, seed: int) -> dict[str, Any]:
    return {
        "dataset": data_info.name,
        "dataset_sha256": data_info.fingerprint,
        "train": asdict(settings),
        "seed": seed,
        "torch": torch.__version__,
    }
