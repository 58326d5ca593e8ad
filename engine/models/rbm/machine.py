"""A Bernoulli–Bernoulli RBM: energy, free energy, conditionals and Gibbs steps.

E(v, h) = −b·v − c·h − hᵀWv over binary v (visible, D) and h (hidden, H). Summing the
hiddens out gives the free energy F(v) = −b·v − Σ_j softplus(c_j + W_j·v), so that
p(v) = exp(−F(v)) / Z. Everything here is float64 (AIS sums thousands of small terms).
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

    @property
    def visible(self) -> int:
        return self.weights.shape[1]

    @property
    def hidden(self) -> int:
        return self.weights.shape[0]

    def double(self) -> Rbm:
        return Rbm(self.weights.double(), self.visible_bias.double(), self.hidden_bias.double())

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        return {
            f"{prefix}weights": self.weights,
            f"{prefix}visible_bias": self.visible_bias,
            f"{prefix}hidden_bias": self.hidden_bias,
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "") -> Rbm | None:
        try:
            return cls(
                *(tensors[f"{prefix}{k}"] for k in ("weights", "visible_bias", "hidden_bias"))
            )
        except KeyError:
            return None

    # ------------------------------------------------------------ the density

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) for N x D visibles: −log Σ_h exp(−E(v, h))."""
        return -(v @ self.visible_bias) - F.softplus(self.hidden_input(v)).sum(-1)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return -(v @ self.visible_bias) - (h @ self.hidden_bias) - ((h @ self.weights) * v).sum(-1)

    def exact_log_partition(self) -> float:
        """log Z by enumerating every hidden (or visible) configuration, whichever is fewer."""
        machine = self.double()
        if min(machine.visible, machine.hidden) > ENUMERABLE_UNITS:
            raise ValueError("too many units to enumerate; estimate log Z by AIS instead")
        if machine.hidden <= machine.visible:
            h = all_binary(machine.hidden)
            # Σ_v exp(b·v + c·h + hᵀWv) factorises over visibles given h.
            terms = h @ machine.hidden_bias + F.softplus(machine.visible_input(h)).sum(-1)
        else:
            terms = -machine.free_energy(all_binary(machine.visible))
        return torch.logsumexp(terms, 0).item()

    def log_prob(self, v: torch.Tensor, log_partition: float) -> torch.Tensor:
        return -self.free_energy(v) - log_partition

    def pseudo_log_likelihood(self, v: torch.Tensor, flipped: torch.Tensor) -> torch.Tensor:
        """D · log σ(F(ṽ) − F(v)), ṽ being v with pixel `flipped[n]` of row n flipped: a
        one-pixel stochastic estimate of the pseudo-likelihood (Besag 1975)."""
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
        return torch.sigmoid(self.visible_input(h))

    def gibbs(
        self, v: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step v → h → v′ with uniform noise N x (H + D) given (so a chain's draws
        can come from its own generator): (h, v′'s probabilities, v′)."""
        h = (noise[:, : self.hidden] < self.hidden_probs(v)).to(v.dtype)
        mean = self.visible_probs(h)
        return h, mean, (noise[:, self.hidden :] < mean).to(v.dtype)

    def chains(self, v: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run N chains for K steps, noise N x K x (H + D): (the last step's mean visibles,
        the last visible states)."""
        mean = v
        for step in range(noise.shape[1]):
            _h, mean, v = self.gibbs(v, noise[:, step])
        return mean, v


def all_binary(units: int) -> torch.Tensor:
    """Every binary vector of `units` bits, 2^units x units float64."""
    rows = list(itertools.product((0.0, 1.0), repeat=units))
    return torch.tensor(rows, dtype=torch.float64).reshape(len(rows), units)


def logit(p: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    p = p.clamp(floor, 1 - floor)
    return torch.log(p) - torch.log1p(-p)


def bits_per_dim(nats: torch.Tensor, dims: int) -> float:
    """The mean negative log-likelihood of binary pixels, in bits per pixel."""
    return nats.double().mean().item() / dims / math.log(2)
