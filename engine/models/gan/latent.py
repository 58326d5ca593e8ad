"""The GAN as a latent model (engine.models.common.latent_runners): the z of a seed, its
generator, and its first-layer features for GANSpace. It has no encoder, so arithmetic
works on the z themselves, as the DCGAN paper did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.api.kinds import Family
from engine.models.common.cached import CachedModels
from engine.models.gan.files import RETRAIN_HINT, load_gan
from engine.models.gan.net import GanConfig, Generator, generate, sample_z
from engine.registry import RunnerEnv


@dataclass(frozen=True)
class LoadedGan:
    generator: Generator
    config: GanConfig
    meta: dict[str, Any]

    @property
    def latent_dim(self) -> int:
        return self.config.z_dim

    @property
    def channels(self) -> int:
        return self.config.channels

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def latent(self, seed: int) -> torch.Tensor:
        """The z of seed `seed` (standard normal, from a CPU generator)."""
        return sample_z(self.config.z_dim, seed)

    def decode(self, z: torch.Tensor) -> np.ndarray:
        """z N x d -> uint8 N x H x W x 3, each row bitwise as if generated alone."""
        return generate(self.generator, z)

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        """Generated images N x C x H x W in [0, 1], as floats (what the shapes reader takes)."""
        param = next(self.generator.parameters())
        with torch.inference_mode():
            images = self.generator(z.to(param.device, param.dtype)).float().cpu()
        return (images + 1) / 2

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's first-layer activations: where GANSpace looks for directions."""
        param = next(self.generator.parameters())
        first = self.generator.net[:2] if self.config.arch == "mlp" else self.generator.fc
        with torch.inference_mode():
            return first(z.to(param.device, param.dtype)).float().cpu()


def gan_models(env: RunnerEnv) -> CachedModels:
    return CachedModels(
        env,
        Family.GAN,
        RETRAIN_HINT,
        lambda path, device, dtype: LoadedGan(*load_gan(path, device, dtype)),
    )
