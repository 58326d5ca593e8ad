"""The VAE network: an MLP (8 x 8 digits) or a small convolutional net (16–64 px images),
its loss, and decoding latents."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.api.errors import BadModelFile
from engine.models.common.fixed_batch import in_fixed_batches
from engine.models.common.images import to_rgb_uint8


@dataclass(frozen=True)
class VaeConfig:
    """Hyper-parameters that fix the network's shape (and so its weight names and sizes)."""

    image_size: int = 8
    channels: int = 1
    hidden: tuple[int, ...] = (256, 128)  # MLP widths, or conv channels per level
    latent_dim: int = 8
    arch: str = "mlp"  # "mlp" or "conv"

    @property
    def pixels(self) -> int:
        return self.channels * self.image_size * self.image_size

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VaeConfig:
        config = cls(**{**data, "hidden": tuple(int(h) for h in data["hidden"])})
        sizes = (config.image_size, config.channels, config.latent_dim, *config.hidden)
        if not config.hidden or min(sizes) < 1 or config.arch not in ("mlp", "conv"):
            raise ValueError(f"not a VAE shape: {config}")
        if config.arch == "conv" and config.image_size != 4 * 2 ** len(config.hidden):
            raise ValueError(
                f"a conv VAE of {len(config.hidden)} levels draws {4 * 2 ** len(config.hidden)} px"
            )
        return config


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with SiLU between them and none after the last (it yields raw outputs)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class _ConvEncoder(nn.Module):
    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        layers, channels = [], config.channels
        for width in config.hidden:  # each level halves the side: down to 4 x 4
            layers += [nn.Conv2d(channels, width, 4, 2, 1), nn.SiLU()]
            channels = width
        self.net = nn.Sequential(
            *layers, nn.Flatten(), nn.Linear(channels * 16, 2 * config.latent_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _ConvDecoder(nn.Module):
    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        widths = list(reversed(config.hidden))
        self.first = widths[0]
        self.fc = nn.Linear(config.latent_dim, widths[0] * 16)
        layers = []
        for width_in, width_out in zip(widths, [*widths[1:], None], strict=True):
            if width_out is None:
                layers += [nn.ConvTranspose2d(width_in, config.channels, 4, 2, 1)]
            else:
                layers += [nn.ConvTranspose2d(width_in, width_out, 4, 2, 1), nn.SiLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(F.silu(self.fc(z)).view(-1, self.first, 4, 4))


class Vae(nn.Module):
    """x -> (mu, logvar) -> z -> Bernoulli logits per pixel."""

    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        self.config = config
        if config.arch == "conv":
            self.encoder: nn.Module = _ConvEncoder(config)
            self.decoder: nn.Module = _ConvDecoder(config)
        else:
            hidden = list(config.hidden)
            # The encoder's last layer emits mu and logvar side by side.
            self.encoder = _mlp([config.pixels, *hidden, 2 * config.latent_dim])
            self.decoder = _mlp([config.latent_dim, *reversed(hidden), config.pixels])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        source = x if self.config.arch == "conv" else x.flatten(1)
        mu, logvar = self.encoder(source).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        c, s = self.config.channels, self.config.image_size
        return self.decoder(z).reshape(-1, c, s, s)

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
    """One 1 x latent_dim standard normal draw from a CPU generator: the same seed gives
    the same z on every device."""
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn((1, latent_dim), generator=generator, dtype=torch.float32)


@torch.inference_mode()
def decode_latents(model: Vae, z: torch.Tensor) -> np.ndarray:
    """Latents -> uint8 N x H x W x 3 (pixel means; grayscale replicated to RGB)."""
    param = next(model.parameters())
    logits = in_fixed_batches(model.decode_logits, z.to(param.device, param.dtype))
    probs = torch.sigmoid(logits.float())
    if not torch.isfinite(probs).all():
        raise BadModelFile(
            "The VAE produced no picture (its numbers overflowed to NaN): its weights are "
            "broken. Train it again, or choose another model."
        )
    return to_rgb_uint8(probs)
