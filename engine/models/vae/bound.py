"""A bound on the VAE's held-out negative log-likelihood, in bits per dimension.

The decoder is Bernoulli: over binary pixels it is a proper distribution, so on binarised
images (ink over half is on, as the RBM and NADE see them) the negative ELBO bounds
−log p(v) from above, for the model with the prior it was trained with, N(0, I). (On grey
levels the Bernoulli loss is no density, so no bound is claimed there.) The expectation
over q(z|v) is a seeded Monte Carlo average.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.models.vae.net import Vae, kl_divergence, reparameterize

BOUND_SAMPLES = 16  # z draws per image: the bound's Monte Carlo noise is far below 0.01 bits


@torch.no_grad()
def binarised_bound_bits(model: Vae, images: torch.Tensor, seed: int = 0) -> float:
    """−ELBO per dimension in bits, averaged over N x C x H x W images in [0, 1]."""
    v = (images > 0.5).to(images.dtype)
    mu, logvar = model.encode(v)
    generator = torch.Generator().manual_seed(seed)
    recon = torch.zeros(len(v), dtype=torch.float64)
    for _ in range(BOUND_SAMPLES):
        logits = model.decode_logits(reparameterize(mu, logvar, generator))
        nll = F.binary_cross_entropy_with_logits(logits, v, reduction="none").flatten(1).sum(1)
        recon += nll.double() / BOUND_SAMPLES
    total = recon + kl_divergence(mu, logvar).double()
    return float(total.mean()) / (v[0].numel() * math.log(2))
