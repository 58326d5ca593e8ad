"""The VAE as a latent model (engine.models.common.latent_runners): its prior's draw of a
seed, its decoder, and its encoder, so sliders, walks and arithmetic come for free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.api.kinds import Family
from engine.models.common.cached import CachedModels
from engine.models.common.gmm import Gmm
from engine.models.vae.files import RETRAIN_HINT, load_vae_with_prior
from engine.models.vae.net import Vae, VaeConfig, decode_latents, sample_latent
from engine.registry import RunnerEnv


@dataclass(frozen=True)
class LoadedVae:
    model: Vae
    config: VaeConfig
    meta: dict[str, Any]
    prior: Gmm | None

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def channels(self) -> int:
        return self.config.channels

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def latent(self, seed: int) -> torch.Tensor:
        """The latent code of seed `seed`: from the learned prior, else the standard normal."""
        if self.prior is None:
            return sample_latent(self.config.latent_dim, seed)
        return self.prior.sample(torch.Generator("cpu").manual_seed(seed))

    def decode(self, z: torch.Tensor) -> np.ndarray:
        """Codes N x d -> uint8 N x H x W x 3, each row bitwise as if decoded alone."""
        return decode_latents(self.model, z)

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """Decoded images N x C x H x W in [0, 1], as floats (what the encoder takes)."""
        param = next(self.model.parameters())
        with torch.inference_mode():
            logits = self.model.decode_logits(z.to(param.device, param.dtype))
        return torch.sigmoid(logits.float()).cpu()

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's means and log-variances of images N x C x H x W in [0, 1]."""
        param = next(self.model.parameters())
        with torch.inference_mode():
            mu, logvar = self.model.encode(images.to(param.device, param.dtype))
        return mu.float().cpu(), logvar.float().cpu()

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's means: the code an image is read as."""
        return self.posterior(images)[0]


def vae_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(
        env,
        Family.VAE,
        RETRAIN_HINT,
        lambda path, device, dtype: LoadedVae(*load_vae_with_prior(path, device, dtype)),
    )
