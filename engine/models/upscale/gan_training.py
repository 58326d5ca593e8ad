"""Training `lite-x4-gan`: the bundled lite-x4 fine-tuned adversarially (SRGAN, ESRGAN).

    python -m engine.train sr --scale 4 --gan [--steps N] [--out PATH]

As ESRGAN starts from its PSNR-oriented model, the generator starts from the bundled
lite-x4 and is fine-tuned with a critic; the data and patches are lite-x4's own
(`PatchSampler`, skimage photos and emoji), so the held-out photos stay out of training
(they did choose the loss weights, below). The file
written is a plain Compact state dict, so spandrel (and other tools) load it like lite-x4.

The generator's loss, and why each term:
- pixel L1: keeps colours and shapes where lite-x4 put them, so Y-PSNR drops little;
- random-feature perceptual loss (adversarial.RandomFeatureLoss): asks for the same
  local texture statistics as the photo, at three scales, with no downloaded weights;
- high-pass L1 (a Laplacian band): asks for the fine detail a pixel loss averages away;
- relativistic adversarial loss: the critic pushes the detail towards what photos look
  like rather than the average of the possible details (a soft blur);
- grid loss (adversarial.grid_loss): without it the generator fools the critic with a
  faint 4 px grid, clearest in flat skies.

Weights, found on runs of 250-400 steps (Y-PSNR / Laplacian-energy ratio on the
held-out photos; lite-x4: 27.49 dB / 0.044). Without the grid term: adversarial 0.05 or
0.2 barely sharpened (0.077, 0.090); 0.3 with pixel 0.5 reached 0.128 for -0.6 dB, and
0.5 with pixel 0.3 0.39 for -2.3 dB, but both drew the grid (2.6 and 4.8 grey levels of
a fixed 4 x 4 pattern). With it (weight 20) the grid stays under 0.3 levels (lite-x4:
0.05), and adversarial 0.6 is the weight kept: -0.25 dB, 0.090.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from spandrel.architectures.Compact import Compact

from engine.models.upscale.adversarial import (
    PatchDiscriminator,
    RandomFeatureLoss,
    grid_loss,
    high_pass_loss,
    relativistic_losses,
)
from engine.models.upscale.training import (
    SR_PRESETS,
    PatchSampler,
    training_photos,
    write_upscaler,
)
from engine.resources import BUNDLED_MODELS_DIR
from engine.train.determinism import deterministic_cpu

ABOUT = "sharper textures (adversarial), slightly lower PSNR"


@dataclass(frozen=True)
class GanSrPreset:
    scale: int = 4
    start_from: str = "lite-x4"  # the bundled PSNR-oriented model it fine-tunes
    steps: int = 400
    patch: int = 32  # low-resolution pixels a side, as lite-x4 was trained
    batch_size: int = 8
    generator_lr: float = 2e-4
    critic_lr: float = 2e-4
    critic_channels: int = 16
    pixel_weight: float = 0.5
    perceptual_weight: float = 1.0
    high_pass_weight: float = 1.0
    adversarial_weight: float = 0.6
    grid_weight: float = 20.0
    grid_window: int = 16  # 4 px blocks a side over which the grid is measured (64 px)
    warmup_steps: int = 50  # the critic learns alone first, so its first gradients mean something
    seed: int = 0
    threads: int = 1


GAN_PRESET = GanSrPreset()


@dataclass
class GanParts:
    """What one adversarial step needs: both networks, their optimisers, the losses."""

    generator: torch.nn.Module
    critic: torch.nn.Module
    generator_opt: torch.optim.Optimizer
    critic_opt: torch.optim.Optimizer
    perceptual: RandomFeatureLoss
    preset: GanSrPreset


def make_parts(generator: torch.nn.Module, preset: GanSrPreset) -> GanParts:
    critic = PatchDiscriminator(preset.critic_channels)
    betas = (0.9, 0.99)  # ESRGAN's
    return GanParts(
        generator,
        critic,
        torch.optim.Adam(generator.parameters(), lr=preset.generator_lr, betas=betas),
        torch.optim.Adam(critic.parameters(), lr=preset.critic_lr, betas=betas),
        RandomFeatureLoss(seed=preset.seed + 1234),
        preset,
    )


def adversarial_step(
    parts: GanParts, low: torch.Tensor, high: torch.Tensor, train_generator: bool = True
) -> dict[str, float]:
    """One critic update, then (unless warming up) one generator update; the losses."""
    preset = parts.preset
    fake = parts.generator(low)
    critic_loss, _ = relativistic_losses(parts.critic(high), parts.critic(fake.detach()))
    parts.critic_opt.zero_grad(set_to_none=True)
    critic_loss.backward()
    parts.critic_opt.step()
    values = {"critic": critic_loss.item()}
    if not train_generator:
        return values
    for p in parts.critic.parameters():  # the generator's step must not move the critic
        p.requires_grad_(False)
    with torch.no_grad():
        real_logits = parts.critic(high)
    _, adversarial = relativistic_losses(real_logits, parts.critic(fake))
    pixel = F.l1_loss(fake, high)
    perceptual = parts.perceptual(fake, high)
    detail = high_pass_loss(fake, high)
    grid = grid_loss(fake, high, preset.scale, preset.grid_window)
    loss = (
        preset.pixel_weight * pixel
        + preset.perceptual_weight * perceptual
        + preset.high_pass_weight * detail
        + preset.adversarial_weight * adversarial
        + preset.grid_weight * grid
    )
    parts.generator_opt.zero_grad(set_to_none=True)
    loss.backward()
    parts.generator_opt.step()
    for p in parts.critic.parameters():
        p.requires_grad_(True)
    values.update(
        pixel=pixel.item(), perceptual=perceptual.item(), high_pass=detail.item(),
        adversarial=adversarial.item(), grid=grid.item(),
    )  # fmt: skip
    return values


def starting_generator(preset: GanSrPreset, folder: Path = BUNDLED_MODELS_DIR) -> Compact:
    """The bundled PSNR-oriented model the fine-tuning starts from."""
    base = SR_PRESETS[preset.scale]
    net = Compact(num_feat=base.num_feat, num_conv=base.num_conv, upscale=preset.scale)
    net.load_state_dict(load_file(str(Path(folder) / f"{preset.start_from}.safetensors")))
    return net


def train_sr_gan(preset: GanSrPreset, out: Path, steps: int = 0, log=print) -> Path:
    """Fine-tune the starting model adversarially and write it (safetensors + record)."""
    steps = steps or preset.steps
    started = time.perf_counter()
    with deterministic_cpu(preset.seed, preset.threads):
        parts = make_parts(starting_generator(preset), preset)
        sampler = PatchSampler(training_photos(), preset.scale, preset.patch, preset.seed)
        running: dict[str, float] = {}
        for step in range(1, preset.warmup_steps + steps + 1):
            low, high = sampler.batch(preset.batch_size)
            values = adversarial_step(parts, low, high, step > preset.warmup_steps)
            for key, value in values.items():
                running[key] = 0.95 * running.get(key, value) + 0.05 * value
            if step % 50 == 0:
                log(json.dumps({"step": step, **{k: round(v, 5) for k, v in running.items()}}))
    seconds = time.perf_counter() - started
    return save_gan_upscaler(parts.generator, preset, out, steps, seconds)


def save_gan_upscaler(
    net: torch.nn.Module, preset: GanSrPreset, out: Path, steps: int, seconds: float
) -> Path:
    """The generator alone, as a plain Compact state dict, and its record."""
    base = SR_PRESETS[preset.scale]
    config = {
        "architecture": "RealESRGAN Compact",
        "num_feat": base.num_feat,
        "num_conv": base.num_conv,
        "adversarial": True,
        "loss": "relativistic average GAN + random-feature perceptual + high-pass L1 "
        "+ grid L1 + L1",
        **asdict(preset),
    }
    meta = {
        "about": ABOUT,
        "started_from": preset.start_from,
        "steps": steps,
        "train_seconds": round(seconds, 1),
    }
    return write_upscaler(net, out, config, meta)
