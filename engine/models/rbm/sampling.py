"""Samples: Gibbs chains from random pixels, each from its own seed.

Chain s starts at random visibles (binary: on with probability ½; Gaussian: N(0, 1) on
the standardised scale) and runs k steps, every draw from torch.Generator(s); its
picture is the last step's mean visibles E[v | h] (the pixels' probabilities, or the
Gaussian's mean), which is less speckled than the drawn state. Chains
are run side by side with their noise drawn up front, so a batch of seeds gives the
pictures those seeds give alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from engine.models.rbm.machine import Rbm


def chain_noise(seed: int, steps: int, rbm: Rbm) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed `seed`'s start (D) and its uniform noise (steps x (H + D))."""
    generator = torch.Generator().manual_seed(seed)
    start = torch.rand(rbm.visible, generator=generator, dtype=rbm.weights.dtype)
    noise = torch.rand(
        steps, rbm.hidden + rbm.visible, generator=generator, dtype=rbm.weights.dtype
    )
    return rbm.random_visibles(start), noise


def gibbs_draws(rbm: Rbm, seeds: Iterable[int], steps: int) -> torch.Tensor:
    """len(seeds) x D mean visibles after `steps` Gibbs steps, chain i from seeds[i] (a
    Gaussian machine's on its standardised scale: LoadedRbm.pictures maps them back)."""
    starts, noises = zip(*(chain_noise(s, steps, rbm) for s in seeds), strict=True)
    means, _states = rbm.chains(torch.stack(starts), torch.stack(noises))
    return means.float()
