"""The DDPM's variational bound (engine/models/ddpm/bound.py) against oracles outside it:

- a denoiser that knows the one image it must make guesses x_0 exactly at every step, so
  every middle term is 0 and the bound is L_T + L_0, written here with
  torch.distributions' KL and scipy's normal CDF (for noise and velocity predictions);
- the importance-sampled middle sum averages to the sum over every step, on a tiny
  random network whose steps can all be evaluated.
"""

from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import norm

from engine.models.ddpm import bound
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.ddpm.schedule import training_scheduler

LEVELS = 17


class KnowsTheImage(torch.nn.Module):
    """Predicts the noise (or velocity) that takes x_t back to the one image exactly."""

    def __init__(self, image: torch.Tensor, config: DdpmConfig) -> None:
        super().__init__()
        self.x0 = image * 2 - 1
        self.abar = training_scheduler(config).alphas_cumprod.double()
        self.prediction = config.prediction
        self.unused = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels=None) -> torch.Tensor:
        ab = self.abar[t].view(-1, 1, 1, 1)
        eps = (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()
        if self.prediction == "v_prediction":
            return ab.sqrt() * eps - (1 - ab).sqrt() * self.x0
        return eps


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_a_perfect_denoiser_pays_only_the_prior_and_decoder_terms(prediction):
    config = DdpmConfig(image_size=2, channels=1, timesteps=50, prediction=prediction)
    levels = torch.tensor([[0, 5], [16, 9]], dtype=torch.float64)
    image = (levels / 16).view(1, 1, 2, 2)
    images = image.repeat(3, 1, 1, 1)
    got = bound.variational_bound_bits(KnowsTheImage(image, config), config, images, LEVELS)

    scheduler = training_scheduler(config)
    abar_t = scheduler.alphas_cumprod.double()[-1]
    x0 = image.flatten() * 2 - 1
    prior = torch.distributions.kl_divergence(
        torch.distributions.Normal(abar_t.sqrt() * x0, (1 - abar_t).sqrt()),
        torch.distributions.Normal(0.0, 1.0),
    ).sum()
    sigma, half = math.sqrt(float(scheduler.betas[0])), 1 / (LEVELS - 1)
    mass = [
        norm.cdf(half / sigma) if v in (0, 16) else norm.cdf(half / sigma) - norm.cdf(-half / sigma)
        for v in levels.flatten().tolist()
    ]
    decoder = -sum(math.log(m) for m in mass)
    expected = (float(prior) + decoder) / (4 * math.log(2))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_the_sampled_middle_sum_averages_to_the_sum_over_every_step():
    torch.manual_seed(0)
    config = DdpmConfig(image_size=8, channels=1, widths=(8, 16), timesteps=20)
    unet = UNet(config).eval()
    images = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    x0 = images * 2 - 1
    schedule = bound._Schedule(config)
    with torch.no_grad():
        every = torch.zeros(len(x0), dtype=torch.float64)
        for i in range(1, config.timesteps):
            kls = []
            for draw in range(16):  # the noise's own expectation, for each step
                g = torch.Generator().manual_seed(draw)
                noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
                step = torch.full((len(x0),), i)
                kls.append(bound._posterior_kl(unet, x0, step, noise, schedule))
            every += torch.stack(kls).mean(0)
        estimates = [
            bound.middle_terms(unet, x0, schedule, torch.Generator().manual_seed(seed))
            for seed in range(48)
        ]
    mean = torch.stack(estimates).mean(0)
    assert torch.allclose(mean, every, rtol=0.05)
