"""An RBM's energy, free energy, conditionals and Gibbs steps: Bernoulli–Bernoulli, or
Gaussian–Bernoulli.

Bernoulli: E(v, h) = −b·v − c·h − hᵀWv over binary v (visible, D) and h (hidden, H).
Summing the hiddens out gives the free energy F(v) = −b·v − Σ_j softplus(c_j + W_j·v),
so that p(v) = exp(−F(v)) / Z.

Gaussian (Hinton's practical guide, 2010, §13.2): v is real, on standardised pixels, with
unit variance: E(v, h) = ‖v − b‖²/2 − c·h − hᵀWv, F(v) = ‖v − b‖²/2 − Σ_j softplus(c_j +
W_j·v). Given h, v is N(b + Wᵀh, I); given v, h is Bernoulli as before. Z sums a
Gaussian integral over each hidden state: ∫ exp(−‖v − b‖²/2 + vᵀm) dv = (2π)^{D/2}
exp(b·m + ‖m‖²/2), m = Wᵀh.

Everything here is float64 where it matters (AIS sums thousands of small terms).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

ENUMERABLE_UNITS = 20  # exact log Z sums 2^min(D, H) terms: a test-sized machine only


@dataclass(frozen=True)
class Rbm:
    weights: torch.Tensor  # H x D
    visible_bias: torch.Tensor  # D
    hidden_bias: torch.Tensor  # H
    gaussian: bool = False  # real visibles N(b + Wᵀh, I) instead of binary ones

    @property
    def visible(self) -> int:
        return self.weights.shape[1]

    @property
    def hidden(self) -> int:
        return self.weights.shape[0]

    def double(self) -> Rbm:
        return Rbm(
            self.weights.double(),
            self.visible_bias.double(),
            self.hidden_bias.double(),
            self.gaussian,
        )

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        return {
            f"{prefix}weights": self.weights,
            f"{prefix}visible_bias": self.visible_bias,
            f"{prefix}hidden_bias": self.hidden_bias,
        }

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], prefix: str = "", gaussian: bool = False
    ) -> Rbm | None:
        try:
            names = ("weights", "visible_bias", "hidden_bias")
            return cls(*(tensors[f"{prefix}{k}"] for k in names), gaussian)
        except KeyError:
            return None

    # ------------------------------------------------------------ the density

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) for N x D visibles: −log Σ_h exp(−E(v, h))."""
        return self.visible_energy(v) - F.softplus(self.hidden_input(v)).sum(-1)

    def visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        """The energy's visible-only term: −b·v, or ‖v − b‖²/2 for Gaussian visibles."""
        if self.gaussian:
            return 0.5 * ((v - self.visible_bias) ** 2).sum(-1)
        return -(v @ self.visible_bias)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        coupling = (h @ self.hidden_bias) + ((h @ self.weights) * v).sum(-1)
        return self.visible_energy(v) - coupling

    def exact_log_partition(self) -> float:
        """log Z by enumerating every hidden (or visible) configuration, whichever is fewer."""
        machine = self.double()
        if machine.gaussian:
            return machine._gaussian_log_partition()
        if min(machine.visible, machine.hidden) > ENUMERABLE_UNITS:
            raise ValueError("too many units to enumerate; estimate log Z by AIS instead")
        if machine.hidden <= machine.visible:
            h = all_binary(machine.hidden)
            # Σ_v exp(b·v + c·h + hᵀWv) factorises over visibles given h.
            terms = h @ machine.hidden_bias + F.softplus(machine.visible_input(h)).sum(-1)
        else:
            terms = -machine.free_energy(all_binary(machine.visible))
        return torch.logsumexp(terms, 0).item()

    def _gaussian_log_partition(self) -> float:
        """Σ over every hidden state of its closed-form Gaussian integral over v."""
        if self.hidden > ENUMERABLE_UNITS:
            raise ValueError("too many hidden units to enumerate; estimate log Z by AIS instead")
        h = all_binary(self.hidden)
        m = h @ self.weights
        terms = h @ self.hidden_bias + m @ self.visible_bias + 0.5 * (m**2).sum(-1)
        gauss = 0.5 * self.visible * math.log(2 * math.pi)
        return torch.logsumexp(terms, 0).item() + gauss

    def log_prob(self, v: torch.Tensor, log_partition: float) -> torch.Tensor:
        return -self.free_energy(v) - log_partition

    def pseudo_log_likelihood(self, v: torch.Tensor, flipped: torch.Tensor) -> torch.Tensor:
        """D · log σ(F(ṽ) − F(v)), ṽ being v with pixel `flipped[n]` of row n flipped: a
        one-pixel stochastic estimate of the pseudo-likelihood (Besag 1975); binary
        visibles only."""
        rows = torch.arange(len(v))
        corrupted = v.clone()
        corrupted[rows, flipped] = 1 - corrupted[rows, flipped]
        return v.shape[1] * F.logsigmoid(self.free_energy(corrupted) - self.free_energy(v))

    # ------------------------------------------------------------ Gibbs sampling

    def hidden_input(self, v: torch.Tensor) -> torch.Tensor:
        return v @ self.weights.T + self.hidden_bias

    def visible_input(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.weights + self.visible_bias

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.hidden_input(v))

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: the pixels' probabilities of ink, or the Gaussian's mean b + Wᵀh."""
        if self.gaussian:
            return self.visible_input(h)
        return torch.sigmoid(self.visible_input(h))

    def visible_draw(self, mean: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """v drawn given E[v | h] from uniform noise: a coin each, or mean + N(0, 1) by the
        inverse normal CDF (so both kinds of chain draw from the same uniform noise)."""
        if self.gaussian:
            return mean + standard_normal(uniform)
        return (uniform < mean).to(mean.dtype)

    def random_visibles(self, uniform: torch.Tensor) -> torch.Tensor:
        """A chain's random start from uniform noise: fair coins, or N(0, 1) pixels (the
        standardised data's own spread)."""
        if self.gaussian:
            return standard_normal(uniform)
        return (uniform < 0.5).to(uniform.dtype)

    def gibbs(
        self, v: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step v → h → v′ with uniform noise N x (H + D) given (so a chain's draws
        can come from its own generator): (h, E[v′ | h], v′)."""
        h = (noise[:, : self.hidden] < self.hidden_probs(v)).to(v.dtype)
        mean = self.visible_probs(h)
        return h, mean, self.visible_draw(mean, noise[:, self.hidden :])

    def chains(self, v: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run N chains for K steps, noise N x K x (H + D): (the last step's mean visibles,
        the last visible states)."""
        mean = v
        for step in range(noise.shape[1]):
            _h, mean, v = self.gibbs(v, noise[:, step])
        return mean, v


def standard_normal(uniform: torch.Tensor) -> torch.Tensor:
    """Φ⁻¹(u): N(0, 1) draws from uniform ones (u kept off 0 and 1, where Φ⁻¹ is infinite)."""
    info = torch.finfo(uniform.dtype)
    return torch.special.ndtri(uniform.clamp(info.tiny, 1 - info.eps))


def all_binary(units: int) -> torch.Tensor:
    """Every binary vector of `units` bits, 2^units x units float64."""
    rows = list(itertools.product((0.0, 1.0), repeat=units))
    return torch.tensor(rows, dtype=torch.float64).reshape(len(rows), units)


def logit(p: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    p = p.clamp(floor, 1 - floor)
    return torch.log(p) - torch.log1p(-p)


def bits_per_dim(nats: torch.Tensor, dims: int) -> float:
    """The mean negative log-likelihood of binary pixels, in bits per pixel (a density's
    on pixel levels: engine.models.rbm.pixels.level_bits)."""
    return nats.double().mean().item() / dims / math.log(2)
