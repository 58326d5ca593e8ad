"""A Gaussian mixture, fitted by EM: the learned prior of a VAE's latent space.

A VAE trained with a standard normal prior leaves holes in it: regions no training image
encodes to, which decode to half-one-digit-half-another. Fitting a mixture to where the
training images actually land, and sampling from that ("ex-post density estimation",
Ghosh et al. 2020), draws latent codes that decode to real-looking images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import MultivariateNormal

REGULARIZATION = 1e-4  # added to each covariance's diagonal, so none collapses


@dataclass(frozen=True)
class Gmm:
    weights: torch.Tensor  # K
    means: torch.Tensor  # K x D
    scale_tril: torch.Tensor  # K x D x D (lower Cholesky factors of the covariances)

    def sample(self, generator: torch.Generator) -> torch.Tensor:
        """One 1 x D draw (a component by its weight, then a point of it)."""
        u = torch.rand((), generator=generator, dtype=torch.float64)
        k = int(
            torch.searchsorted(torch.cumsum(self.weights.double(), 0), u).clamp(
                max=len(self.weights) - 1
            )
        )
        eps = torch.randn(self.means.shape[1], generator=generator, dtype=torch.float64)
        z = self.means[k].double() + self.scale_tril[k].double() @ eps
        return z.float()[None]

    def tensors(self, prefix: str = "prior.") -> dict[str, torch.Tensor]:
        return {
            f"{prefix}weights": self.weights,
            f"{prefix}means": self.means,
            f"{prefix}scale_tril": self.scale_tril,
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "prior.") -> Gmm | None:
        keys = [f"{prefix}{name}" for name in ("weights", "means", "scale_tril")]
        if not all(key in tensors for key in keys):
            return None
        return cls(*(tensors[key].float() for key in keys))


def fit_gmm(points: torch.Tensor, components: int, seed: int, iterations: int = 200) -> Gmm:
    """EM on N x D points, k-means++ initialised from `seed`: deterministic."""
    z = points.detach().double().cpu()
    n, d = z.shape
    components = min(components, n)
    generator = torch.Generator().manual_seed(seed)
    means = _kmeans_plus_plus(z, components, generator)
    spread = z.var(0).mean().item()
    if not spread > REGULARIZATION:  # all points equal (or one): no spread to start from
        spread = REGULARIZATION
    covariances = torch.eye(d, dtype=torch.float64).expand(components, d, d) * spread
    weights = torch.full((components,), 1.0 / components, dtype=torch.float64)
    previous = -float("inf")
    eye = torch.eye(d, dtype=torch.float64) * REGULARIZATION
    for _ in range(iterations):
        log_p = MultivariateNormal(means, covariance_matrix=covariances).log_prob(z[:, None, :])
        log_weighted = log_p + weights.log()
        log_total = torch.logsumexp(log_weighted, 1, keepdim=True)
        responsibility = (log_weighted - log_total).exp()
        mass = responsibility.sum(0) + 1e-10
        weights = mass / n
        means = responsibility.T @ z / mass[:, None]
        centred = z[None] - means[:, None]  # K x N x D
        covariances = (
            torch.einsum("kn,knd,kne->kde", responsibility.T, centred, centred)
            / mass[:, None, None]
            + eye
        )
        likelihood = log_total.mean().item()
        if likelihood - previous < 1e-6:
            break
        previous = likelihood
    return Gmm(weights.float(), means.float(), torch.linalg.cholesky(covariances).float())


def _kmeans_plus_plus(z: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    first = int(torch.randint(len(z), (), generator=generator))
    centres = [z[first]]
    for _ in range(k - 1):
        distance = torch.cdist(z, torch.stack(centres)).min(1).values ** 2
        if not distance.sum() > 0:  # every point is already a centre: take any
            distance = torch.ones_like(distance)
        chosen = int(torch.multinomial(distance / distance.sum(), 1, generator=generator))
        centres.append(z[chosen])
    return torch.stack(centres)
