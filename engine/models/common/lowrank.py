"""Low-rank-plus-diagonal covariances: a mixture of factor analysers (Ghahramani & Hinton,
"The EM Algorithm for Mixtures of Factor Analyzers", 1996).

Each component is x = μ + W z + ε with z ~ N(0, I_r) and ε ~ N(0, diag ψ), so its
covariance is W Wᵀ + diag ψ: r directions of shared variation (a stroke's thickness, a
shape's position) on top of each pixel's own noise, in D (r + 2) numbers instead of D².
Nothing here forms a D x D matrix (a colour image has 3,072 values): the inverse comes
from the Woodbury identity and the determinant from the matrix determinant lemma, both
through the r x r "capacitance" M = I + Wᵀ ψ⁻¹ W. Nor an N x K x D array: squares are
expanded, as for the diagonal kind (diag_log_prob, which the low-rank kind builds on).
"""

from __future__ import annotations

import math

import torch


def diag_log_prob(x: torch.Tensor, means: torch.Tensor, variances: torch.Tensor) -> torch.Tensor:
    """N x K Gaussian log-densities with diagonal covariances, without an N x K x D array
    (a colour image has thousands of dimensions): the square expanded, as scikit-learn."""
    precision = 1.0 / variances  # K x D
    squared = (x**2) @ precision.T - 2.0 * x @ (means * precision).T + (means**2 * precision).sum(1)
    log_det = variances.log().sum(1)
    return -0.5 * (x.shape[1] * math.log(2 * math.pi) + log_det + squared)


def capacitance_tril(factors: torch.Tensor, variances: torch.Tensor) -> torch.Tensor:
    """K x r x r lower Cholesky factors of M_k = I + W_kᵀ ψ_k⁻¹ W_k."""
    r = factors.shape[2]
    scaled = factors / variances[:, :, None]  # ψ⁻¹ W, K x D x r
    m = torch.eye(r, dtype=factors.dtype) + factors.transpose(1, 2) @ scaled
    return torch.linalg.cholesky(m)


def projections(
    x: torch.Tensor, means: torch.Tensor, factors: torch.Tensor, variances: torch.Tensor
) -> torch.Tensor:
    """N x K x r: W_kᵀ ψ_k⁻¹ (x_n − μ_k), as x @ (ψ⁻¹W) − μᵀ ψ⁻¹ W (no N x K x D array)."""
    k, d, r = factors.shape
    scaled = factors / variances[:, :, None]
    by_point = (x @ scaled.permute(1, 0, 2).reshape(d, k * r)).reshape(len(x), k, r)
    by_mean = torch.einsum("kd,kdr->kr", means, scaled)
    return by_point - by_mean


def lowrank_log_prob(
    x: torch.Tensor, means: torch.Tensor, factors: torch.Tensor, variances: torch.Tensor
) -> torch.Tensor:
    """N x K Gaussian log-densities with covariances W_k W_kᵀ + diag ψ_k (float64 in).

    (x−μ)ᵀ Σ⁻¹ (x−μ) = Σ_d (x−μ)_d² / ψ_d − ‖L⁻¹ Wᵀ ψ⁻¹ (x−μ)‖² (Woodbury, M = L Lᵀ),
    log |Σ| = log |M| + Σ_d log ψ_d (the determinant lemma)."""
    tril = capacitance_tril(factors, variances)
    diagonal = diag_log_prob(x, means, variances)  # the ψ part alone
    u = projections(x, means, factors, variances)  # N x K x r
    solved = torch.linalg.solve_triangular(tril[None], u[..., None], upper=False)[..., 0]
    log_det_m = 2 * tril.diagonal(dim1=1, dim2=2).log().sum(1)
    return diagonal + 0.5 * (solved**2).sum(2) - 0.5 * log_det_m


def lowrank_m_step(
    z: torch.Tensor,
    responsibility: torch.Tensor,
    means: torch.Tensor,
    factors: torch.Tensor,
    variances: torch.Tensor,
    reg_covar: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """New means, factors and variances from N x K responsibilities (Ghahramani & Hinton's
    M-step, μ and W together as W̃ = [W μ] on z̃ = [z; 1]).

    With β = M⁻¹ Wᵀ ψ⁻¹ the posterior of z given x is E[z] = β (x − μ) and
    E[z zᵀ] = M⁻¹ + E[z] E[z]ᵀ; then W̃ = (Σ h x E[z̃]ᵀ)(Σ h E[z̃ z̃ᵀ])⁻¹ and
    ψ = diag(Σ h x xᵀ − W̃ Σ h E[z̃] xᵀ) / Σ h, plus reg_covar so that none collapses."""
    k, d, r = factors.shape
    tril = capacitance_tril(factors, variances)
    m_inverse = torch.cholesky_inverse(tril)  # K x r x r, small
    ez = (m_inverse[None] @ projections(z, means, factors, variances)[..., None])[..., 0]
    mass = responsibility.sum(0) + 1e-10  # K
    weighted = responsibility[:, :, None] * ez  # N x K x r: h E[z]
    sum_ez = weighted.sum(0)  # K x r
    # Σ h E[z̃ z̃ᵀ], (r+1) x (r+1): [[Σh M⁻¹ + Σh Ez Ezᵀ, Σh Ez], [Σh Ezᵀ, Σh]]
    second = torch.einsum("nkr,nks->krs", weighted, ez) + mass[:, None, None] * m_inverse
    gram = torch.zeros(k, r + 1, r + 1, dtype=z.dtype)
    gram[:, :r, :r] = second
    gram[:, :r, r] = gram[:, r, :r] = sum_ez
    gram[:, r, r] = mass
    # Σ h x E[z̃]ᵀ, D x (r+1) a component: [Σ h x Ezᵀ, Σ h x]
    cross = torch.empty(k, d, r + 1, dtype=z.dtype)
    cross[:, :, :r] = (z.T @ weighted.reshape(len(z), k * r)).reshape(d, k, r).permute(1, 0, 2)
    cross[:, :, r] = responsibility.T @ z
    augmented = torch.linalg.solve(gram, cross.transpose(1, 2)).transpose(1, 2)  # K x D x r+1
    squares = responsibility.T @ (z * z)  # K x D: Σ h x²
    explained = (augmented * cross).sum(2)  # diag(W̃ Σ h E[z̃] xᵀ)
    new_variances = (squares - explained).clamp_min(0) / mass[:, None] + reg_covar
    return augmented[:, :, r], augmented[:, :, :r].contiguous(), new_variances


def lowrank_start_factors(
    components: int, dims: int, rank: int, spread: float, seed: int
) -> torch.Tensor:
    """Small random factors from `seed` (W = 0 is a fixed point of EM: it must start off
    it), each direction carrying a tenth of the data's mean variance."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(components, dims, rank, generator=generator, dtype=torch.float64)
    return noise * math.sqrt(0.1 * spread / rank)
