"""A Gaussian mixture, fitted by EM (Dempster, Laird & Rubin 1977): the learned prior of a
VAE's latent space, and the GMM family's whole model of pixels.

A VAE trained with a standard normal prior leaves holes in it: regions no training image
encodes to, which decode to half-one-digit-half-another. Fitting a mixture to where the
training images actually land, and sampling from that ("ex-post density estimation",
Ghosh et al. 2020), draws latent codes that decode to real-looking images.

Covariances are "full" (K x D x D, kept as lower Cholesky factors), "diag" (K x D, kept
as standard deviations) or "lowrank", W Wᵀ + diag ψ (K x D x r factors and K x D
standard deviations √ψ: see engine.models.common.lowrank): a full one costs D² numbers a
component, too many for a colour image's thousands of pixels. EM runs one iteration at a
time (`em_step`), so a training job can report each; `fit_gmm` runs it to convergence for
the VAE's prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import MultivariateNormal

from engine.models.common.covariances import REGULARIZATION
from engine.models.common.lowrank import (
    diag_log_prob,
    lowrank_log_prob,
    lowrank_m_step,
    lowrank_start_factors,
)


@dataclass(frozen=True)
class Gmm:
    weights: torch.Tensor  # K
    means: torch.Tensor  # K x D
    # K x D x D: lower Cholesky factors of full covariances; K x D: standard deviations
    # of diagonal ones (and of a low-rank one's diagonal part, √ψ).
    scale_tril: torch.Tensor
    factors: torch.Tensor | None = None  # K x D x r: a low-rank covariance's W

    @property
    def covariance(self) -> str:
        if self.factors is not None:
            return "lowrank"
        return "full" if self.scale_tril.ndim == 3 else "diag"

    @property
    def rank(self) -> int:
        return 0 if self.factors is None else self.factors.shape[2]

    @property
    def components(self) -> int:
        return len(self.weights)

    def sample(self, generator: torch.Generator, component: int | None = None) -> torch.Tensor:
        """One 1 x D draw (a component by its weight, or `component`, then a point of it).
        The component is drawn even when given, so a seed's noise is the same either way."""
        u = torch.rand((), generator=generator, dtype=torch.float64)
        k = int(
            torch.searchsorted(torch.cumsum(self.weights.double(), 0), u).clamp(
                max=len(self.weights) - 1
            )
        )
        k = k if component is None else component
        eps = torch.randn(self.means.shape[1], generator=generator, dtype=torch.float64)
        scale = self.scale_tril[k].double()
        step = scale @ eps if self.covariance == "full" else scale * eps
        if self.factors is not None:  # x = μ + W z + √ψ ε, z ~ N(0, I_r)
            z = torch.randn(self.rank, generator=generator, dtype=torch.float64)
            step = step + self.factors[k].double() @ z
        return (self.means[k].double() + step).float()[None]

    def component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """N x K: log N(x_n | mean_k, cov_k) + log weight_k, in float64."""
        x = x.double()
        means, scale = self.means.double(), self.scale_tril.double()
        if self.factors is not None:
            log_p = lowrank_log_prob(x, means, self.factors.double(), scale**2)
        elif self.covariance == "full":
            log_p = MultivariateNormal(means, scale_tril=scale).log_prob(x[:, None, :])
        else:
            log_p = diag_log_prob(x, means, scale**2)
        return log_p + self.weights.double().log()

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """The mixture's log-density of each row of N x D points (float64)."""
        return torch.logsumexp(self.component_log_prob(x), 1)

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """N x K: the posterior probability of each component for each point."""
        weighted = self.component_log_prob(x)
        return (weighted - torch.logsumexp(weighted, 1, keepdim=True)).exp()

    def tensors(self, prefix: str = "prior.") -> dict[str, torch.Tensor]:
        """By name; a low-rank mixture adds its factors (diag and full files are as
        they always were)."""
        named = {
            f"{prefix}weights": self.weights,
            f"{prefix}means": self.means,
            f"{prefix}scale_tril": self.scale_tril,
        }
        if self.factors is not None:
            named[f"{prefix}factors"] = self.factors
        return named

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "prior.") -> Gmm | None:
        keys = [f"{prefix}{name}" for name in ("weights", "means", "scale_tril")]
        if not all(key in tensors for key in keys):
            return None
        factors = tensors.get(f"{prefix}factors")
        return cls(
            *(tensors[key].float() for key in keys),
            None if factors is None else factors.float(),
        )


@dataclass(frozen=True)
class EmState:
    """Mixture parameters during EM, float64; covariances K x D x D (full) or K x D (diag,
    or a low-rank one's ψ, with its K x D x r factors)."""

    weights: torch.Tensor
    means: torch.Tensor
    covariances: torch.Tensor
    factors: torch.Tensor | None = None

    def gmm(self) -> Gmm:
        if self.covariances.ndim == 3:
            scale = torch.linalg.cholesky(self.covariances)
        else:
            scale = self.covariances.sqrt()
        factors = None if self.factors is None else self.factors.float()
        return Gmm(self.weights.float(), self.means.float(), scale.float(), factors)

    def component_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """N x K: log N(z_n | mean_k, cov_k), float64."""
        if self.factors is not None:
            return lowrank_log_prob(z, self.means, self.factors, self.covariances)
        if self.covariances.ndim == 3:
            gaussians = MultivariateNormal(self.means, covariance_matrix=self.covariances)
            return gaussians.log_prob(z[:, None, :])
        return diag_log_prob(z, self.means, self.covariances)


def em_start(
    points: torch.Tensor, components: int, seed: int, covariance: str = "full", rank: int = 0
) -> EmState:
    """Uniform weights, k-means++ means from `seed`, and every covariance the data's mean
    variance times the identity (a low-rank one's ψ, with small random factors from
    `seed` added): deterministic for a seed."""
    z = points.detach().double().cpu()
    d = z.shape[1]
    means = kmeans_plus_plus(z, components, torch.Generator().manual_seed(seed))
    spread = z.var(0).mean().item() if len(z) > 1 else 0.0
    if not spread > REGULARIZATION:  # all points equal (or one): no spread to start from
        spread = REGULARIZATION
    if covariance == "full":
        covariances = torch.eye(d, dtype=torch.float64).expand(components, d, d) * spread
    else:
        covariances = torch.full((components, d), spread, dtype=torch.float64)
    weights = torch.full((components,), 1.0 / components, dtype=torch.float64)
    factors = None
    if covariance == "lowrank":
        factors = lowrank_start_factors(components, d, rank, spread, seed)
    return EmState(weights, means, covariances, factors)


def em_step(
    z: torch.Tensor, state: EmState, reg_covar: float = REGULARIZATION
) -> tuple[EmState, float]:
    """One EM iteration on N x D float64 points: the new parameters, and the average
    log-likelihood of the points under the old ones (the E-step's)."""
    n, d = z.shape
    log_weighted = state.component_log_prob(z) + state.weights.log()
    log_total = torch.logsumexp(log_weighted, 1, keepdim=True)
    responsibility = (log_weighted - log_total).exp()
    mass = responsibility.sum(0) + 1e-10
    weights = mass / n
    if state.factors is not None:
        means, factors, variances = lowrank_m_step(
            z, responsibility, state.means, state.factors, state.covariances, reg_covar
        )
        return EmState(weights, means, variances, factors), log_total.mean().item()
    means = responsibility.T @ z / mass[:, None]
    if state.covariances.ndim == 3:
        centred = z[None] - means[:, None]  # K x N x D
        covariances = (
            torch.einsum("kn,knd,kne->kde", responsibility.T, centred, centred)
            / mass[:, None, None]
            + torch.eye(d, dtype=torch.float64) * reg_covar
        )
    else:  # E[x²] − 2 E[x] μ + μ², per component, as scikit-learn computes it
        second = responsibility.T @ (z * z) / mass[:, None]
        first = responsibility.T @ z / mass[:, None]
        covariances = second - 2 * first * means + means**2 + reg_covar
    return EmState(weights, means, covariances), log_total.mean().item()


def fit_gmm(points: torch.Tensor, components: int, seed: int, iterations: int = 200) -> Gmm:
    """EM on N x D points, k-means++ initialised from `seed`: deterministic."""
    z = points.detach().double().cpu()
    state = em_start(z, min(components, len(z)), seed, "full")
    previous = -float("inf")
    for _ in range(iterations):
        state, likelihood = em_step(z, state)
        if likelihood - previous < 1e-6:
            break
        previous = likelihood
    return state.gmm()


def kmeans_plus_plus(z: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    first = int(torch.randint(len(z), (), generator=generator))
    centres = [z[first]]
    for _ in range(k - 1):
        distance = torch.cdist(z, torch.stack(centres)).min(1).values ** 2
        if not distance.sum() > 0:  # every point is already a centre: take any
            distance = torch.ones_like(distance)
        chosen = int(torch.multinomial(distance / distance.sum(), 1, generator=generator))
        centres.append(z[chosen])
    return torch.stack(centres)
