"""log Z of an RBM estimated by annealed importance sampling (Neal 2001), as Salakhutdinov
& Murray, "On the Quantitative Analysis of Deep Belief Networks" (ICML 2008) do it.

The walk goes from a base-rate model A (no weights, visible biases b_A from the data's
pixel means, so its log Z_A is exact) to the RBM B through the unnormalised densities

    log p*_β(v) = (1 − β) b_A·v + β b·v + Σ_j softplus(β (c_j + W_j·v)),

β from 0 to 1. At β = 0 the hiddens are free coins (H log 2 more in log Z_A). A
Gaussian machine walks the same way from A = N(b_A, I) (log Z_A = D/2 log 2π + H log 2),
its visible terms −‖v − b_A‖²/2 and −‖v − b‖²/2 in place of b_A·v and b·v; v given h at
β is then N((1 − β) b_A + β (b + Wᵀh), I). Each run
draws v from A, then at every β adds log p*_β(v) − log p*_β'(v) to its log weight and
moves v by one Gibbs step that leaves p_β invariant. The mean weight is an unbiased
estimate of Z_B / Z_A; log Z from it is an estimate, biased low in expectation (Jensen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.models.rbm.machine import Rbm, logit


@dataclass(frozen=True)
class AisSettings:
    # Salakhutdinov & Murray's schedule: 500 steps to 0.5, 4,000 to 0.9, 10,000 to 1.
    schedule: tuple[tuple[float, int], ...] = ((0.5, 500), (0.9, 4000), (1.0, 10000))
    runs: int = 100
    seed: int = 0


def betas(settings: AisSettings) -> torch.Tensor:
    parts, start = [torch.zeros(1, dtype=torch.float64)], 0.0
    for end, count in settings.schedule:
        parts.append(torch.linspace(start, end, count + 1, dtype=torch.float64)[1:])
        start = end
    return torch.cat(parts)


def base_rate_biases(data: torch.Tensor) -> torch.Tensor:
    """Model A's visible biases: the logits of the training pixels' means (smoothed)."""
    data = data.double()
    return logit((data.sum(0) + 0.5) / (len(data) + 1))


def gaussian_base_biases(data: torch.Tensor) -> torch.Tensor:
    """A Gaussian machine's model A: the training visibles' means (N(b_A, I) is then the
    unit-variance Gaussian closest to the data)."""
    return data.double().mean(0)


DEFAULT_AIS = AisSettings()


@dataclass(frozen=True)
class AisEstimate:
    log_partition: float
    log_weights: torch.Tensor  # one per run

    @property
    def spread(self) -> float:
        """log Z ± this: three standard errors of the mean weight, in log space."""
        w = torch.exp(self.log_weights - self.log_weights.max())
        return math.log1p(3 * w.std().item() / math.sqrt(len(w)) / w.mean().item())


def estimate_log_partition(
    rbm: Rbm, base_biases: torch.Tensor, settings: AisSettings = DEFAULT_AIS
) -> AisEstimate:
    machine = rbm.double()
    b_a = base_biases.double()
    base = Rbm(torch.zeros_like(machine.weights), b_a, machine.hidden_bias, machine.gaussian)
    generator = torch.Generator().manual_seed(settings.seed)
    v = _visibles(machine, b_a.expand(settings.runs, -1), generator)
    log_w = torch.zeros(settings.runs, dtype=torch.float64)
    schedule = betas(settings)
    for previous, beta in zip(schedule[:-1].tolist(), schedule[1:].tolist(), strict=True):
        hidden_input = machine.hidden_input(v)
        log_w += (beta - previous) * (base.visible_energy(v) - machine.visible_energy(v))
        log_w += (F.softplus(beta * hidden_input) - F.softplus(previous * hidden_input)).sum(-1)
        v = _gibbs_at(machine, b_a, v, hidden_input, beta, generator)
    log_z_a = _base_log_partition(b_a, machine.gaussian) + machine.hidden * math.log(2)
    log_mean_w = (torch.logsumexp(log_w, 0) - math.log(settings.runs)).item()
    return AisEstimate(log_z_a + log_mean_w, log_w)


def _gibbs_at(
    machine: Rbm,
    b_a: torch.Tensor,
    v: torch.Tensor,
    hidden_input: torch.Tensor,
    beta: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """One Gibbs step that leaves p_β invariant (hidden_input: c + Wv of this v)."""
    h = _bernoulli(torch.sigmoid(beta * hidden_input), generator)
    field = (1 - beta) * b_a + beta * (h @ machine.weights + machine.visible_bias)
    return _visibles(machine, field, generator)


def _visibles(machine: Rbm, field: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """v given its visible field: coins of σ(field), or N(field, I)."""
    if machine.gaussian:
        return field + torch.randn(field.shape, generator=generator, dtype=field.dtype)
    return _bernoulli(torch.sigmoid(field), generator)


def _base_log_partition(b_a: torch.Tensor, gaussian: bool) -> float:
    """log Z of model A's visibles alone: Σ softplus(b_A), or D/2 log 2π."""
    if gaussian:
        return 0.5 * len(b_a) * math.log(2 * math.pi)
    return F.softplus(b_a).sum().item()


def _bernoulli(p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(p.shape, generator=generator, dtype=p.dtype) < p).to(p.dtype)
