"""The shared latent runners (engine.models.common.latent_runners): what a family gets for
offering a seed's code and a decoder, checked on a toy linear model built here.

Oracle: for a linear decoder x = z W with z ~ N(0, I), GANSpace's first direction is W's
first left singular vector (numpy's SVD), whatever the PCA code does."""

from __future__ import annotations

import numpy as np
import torch

from engine import registry
from engine.api.kinds import Family, Task
from engine.models.common import latent_runners
from engine.models.common.latent_runners import LATENT_RUNNERS, latent_axes

DIM = 6


class ToyLinear:
    """A latent model with no encoder and no inner features: pixels are z W."""

    meta: dict = {}
    latent_dim, channels, image_size = DIM, 1, 4

    def __init__(self) -> None:
        rng = np.random.default_rng(1)
        scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.25])[:, None]
        self.weights = torch.from_numpy(rng.normal(size=(DIM, 16)) * scales).float()

    def latent(self, seed: int) -> torch.Tensor:
        return torch.randn((1, DIM), generator=torch.Generator().manual_seed(seed))

    def pixels(self, z: torch.Tensor) -> torch.Tensor:
        return (z @ self.weights).view(-1, 1, 4, 4)

    def decode(self, z: torch.Tensor) -> np.ndarray:
        grey = (self.pixels(z).clamp(0, 1) * 255).round().byte()[:, 0]
        return grey[..., None].expand(-1, -1, -1, 3).numpy()


def test_a_model_without_encoder_or_features_gets_ganspace_axes_over_its_pictures():
    toy = ToyLinear()
    outcome = latent_axes(toy)
    assert len(outcome.axes) == DIM and "decoded pictures" in outcome.how
    first = np.array(outcome.axes[0].direction)
    assert abs(np.linalg.norm(first) - 1) < 1e-5
    u, _s, _vt = np.linalg.svd(toy.weights.double().numpy())
    assert abs(first @ u[:, 0]) > 0.99


def test_vae_and_gan_run_the_shared_runners_for_every_latent_task():
    for family in (Family.VAE, Family.GAN):
        for task, shared in LATENT_RUNNERS.items():
            cls = registry.runner_class(task, family)
            assert issubclass(cls, shared), (family, task)
            assert cls.__module__ == latent_runners.__name__
    assert registry.runner_class(Task.SAMPLE, Family.GAN).chunk == 64
