"""Sampling a DDPM: DDIM (10–100 steps) or ancestral DDPM (all T), with classifier-free
guidance for class-conditional models.

Sample i starts from the noise of its own seed (a CPU generator: the same on every
device), so it can be drawn again alone. eta > 0 (and ancestral steps) add fresh noise at
each step, also drawn from each sample's own generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from engine.api.errors import BadInput
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.ddpm.schedule import ddim_scheduler

# step, steps, the predicted clean images (for previews)
StepReport = Callable[[int, int, torch.Tensor], None]


def label_for(config: DdpmConfig, seed: int, label: int | None) -> int:
    """The class a sample is drawn in: the one asked for, else one drawn from its seed."""
    if not config.num_classes:
        return 0
    if label is None:
        return int(
            torch.randint(
                config.num_classes, (), generator=torch.Generator().manual_seed(seed + 1_000_003)
            )
        )
    if not 0 <= label < config.num_classes:
        raise BadInput(f"This model draws classes 0 to {config.num_classes - 1}, not {label}.")
    return label


@torch.inference_mode()
def sample(
    unet: UNet,
    config: DdpmConfig,
    seeds: list[int],
    labels: list[int],
    steps: int,
    guidance: float = 1.0,
    eta: float = 0.0,
    ancestral: bool = False,
    report: StepReport | None = None,
    trace: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """N x C x H x W in [0, 1]. `trace` sees (x_t, predicted x̂_0) after every step, in
    [-1, 1]: the diffusion view's filmstrip."""
    if not 1 <= steps <= config.timesteps:
        raise BadInput(
            f"This model was trained with T = {config.timesteps} steps; sample with 1 to "
            f"{config.timesteps}, not {steps}."
        )
    param = next(unet.parameters())
    shape = (config.channels, config.image_size, config.image_size)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    x = torch.stack([torch.randn(shape, generator=g) for g in generators]).to(
        param.device, param.dtype
    )
    y = torch.tensor(labels, device=param.device) if config.num_classes else None
    if ancestral:
        # DDIM with eta = 1 over all T steps is DDPM's ancestral sampler (Song et al. 2021,
        # section 4.1): the same posterior variance, and we choose where its noise comes from.
        steps, eta = config.timesteps, 1.0
    scheduler = ddim_scheduler(config, steps)
    timesteps = scheduler.timesteps
    for index, t in enumerate(timesteps):
        eps = _guided_noise(unet, config, x, t, y, guidance)
        fresh = (
            torch.stack([torch.randn(shape, generator=g) for g in generators]).to(x)
            if eta
            else None
        )
        result = scheduler.step(eps, t, x, eta=eta, variance_noise=fresh)
        x, predicted = result.prev_sample, result.pred_original_sample
        if report is not None:
            report(index + 1, len(timesteps), (predicted.clamp(-1, 1) + 1) / 2)
        if trace is not None:
            trace(x, predicted)
    return ((x.clamp(-1, 1) + 1) / 2).float()


def _guided_noise(
    unet: UNet,
    config: DdpmConfig,
    x: torch.Tensor,
    t: torch.Tensor,
    y: torch.Tensor | None,
    guidance: float,
) -> torch.Tensor:
    times = torch.full((len(x),), int(t), device=x.device)
    if y is None or guidance == 1.0:
        return unet(x, times, y)
    both = unet(
        torch.cat([x, x]),
        torch.cat([times, times]),
        torch.cat([y, torch.full_like(y, config.null_label)]),
    )
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance * (conditional - unconditional)
