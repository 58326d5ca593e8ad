"""The VAE network: a small MLP variational autoencoder, its loss, and decoding latents."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.api.errors import BadModelFile


@dataclass(frozen=True)
class VaeConfig:
    """Hyper-parameters that fix the network's shape (and so its weight names and sizes)."""

    image_size: int = 8
    channels: int = 1
    hidden: tuple[int, ...] = (256, 128)
    latent_dim: int = 8

    @property
    def pixels(self) -> int:
        return self.channels * self.image_size * self.image_size

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VaeConfig:
        config = cls(**{**data, "hidden": tuple(int(h) for h in data["hidden"])})
        sizes = (config.image_size, config.channels, config.latent_dim, *config.hidden)
        if not config.hidden or min(sizes) < 1:
            raise ValueError(f"sizes must be positive: {config}")
        return config


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with SiLU between them and none after the last (it yields raw outputs)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class Vae(nn.Module):
    """x -> (mu, logvar) -> z -> Bernoulli logits per pixel."""

    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        self.config = config
        hidden = list(config.hidden)
        # The encoder's last layer emits mu and logvar side by side.
        self.encoder = _mlp([config.pixels, *hidden, 2 * config.latent_dim])
        self.decoder = _mlp([config.latent_dim, *reversed(hidden), config.pixels])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        c, s = self.config.channels, self.config.image_size
        return self.decoder(z).view(-1, c, s, s)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        return self.decode_logits(z), mu, logvar


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z = mu + sigma * eps: the noise is an input, so gradients flow to mu and logvar."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


# ---------------------------------------------------------------- loss


@dataclass(frozen=True)
class VaeLoss:
    """Per-image means over the batch; total = recon + beta * kl (the negative ELBO at beta=1)."""

    total: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) summed over latent dimensions, one value per image."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def elbo_loss(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
) -> VaeLoss:
    """Bernoulli reconstruction (BCE summed over pixels in [0, 1]) plus the KL term."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = kl_divergence(mu, logvar)
    recon, kl = recon.mean(), kl.mean()
    return VaeLoss(recon + beta * kl, recon, kl)


# ---------------------------------------------------------------- sampling


def sample_latent(latent_dim: int, seed: int) -> torch.Tensor:
    """One 1 x latent_dim prior draw from a CPU generator: the same seed gives the same z
    on every device."""
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn((1, latent_dim), generator=generator, dtype=torch.float32)


@torch.inference_mode()
def decode_latents(model: Vae, z: torch.Tensor) -> np.ndarray:
    """Latents -> uint8 N x H x W x 3 (pixel means; grayscale replicated to RGB)."""
    param = next(model.parameters())
    probs = torch.sigmoid(model.decode_logits(z.to(param.device, param.dtype)).float())
    if not torch.isfinite(probs).all():
        raise BadModelFile(
            "The VAE produced no picture (its numbers overflowed to NaN): its weights are "
            "broken. Train it again, or choose another model."
        )
    pixels = (probs * 255).round().clamp(0, 255).to(torch.uint8).cpu()
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return pixels.permute(0, 2, 3, 1).contiguous().numpy()
