"""A small U-Net for denoising diffusion: predicts the noise ε (or the velocity v) in x_t,
given t (and a class).

Residual blocks with GroupNorm and SiLU; the timestep (sinusoidal) and the class (a
learned embedding, with one extra "no class" entry for classifier-free guidance) are added
to every block. Each level but the last halves the side; skip connections join the two
halves of the U.

At 32 px and more the U-Net can work on 2 x 2 patches folded into channels (space to depth,
as "simple diffusion" does): a quarter of the positions, so twice the width costs the same
time, and a CPU can afford a network wide enough to draw whole shapes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias


@dataclass(frozen=True)
class DdpmConfig:
    image_size: int = 8
    channels: int = 1
    widths: tuple[int, ...] = (32, 64)  # channels per level
    num_classes: int = 0  # 0: unconditional
    timesteps: int = 1000  # T
    beta_schedule: str = "squaredcos_cap_v2"  # diffusers' name for the cosine schedule
    patch: int = 1  # pixels per side folded into channels before the first level
    # What the network predicts: the noise ("epsilon", Ho et al.) or the velocity
    # ("v_prediction", Salimans & Ho 2022), diffusers' names. With epsilon, the clean image
    # is recovered by dividing by sqrt(abar_t), near 0 at the start of sampling, so small
    # errors there become whole wrong images; v stays well conditioned at every t.
    prediction: str = "epsilon"
    # Whether each block reads the time-and-class embedding through a SiLU before its
    # projection, as Ho et al.'s U-Net does. Without it the class adds the same bias to
    # every block at every t, so it cannot act differently at the noise levels that set a
    # shape's outline and at those that fill it in: ddpm-shapes drew the same blob whatever
    # class was asked. False keeps the files trained before (the same weights, read the
    # old way).
    activated_embedding: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DdpmConfig:
        config = cls(**{**data, "widths": tuple(int(w) for w in data["widths"])})
        if not config.widths or min(config.widths) < 8 or any(w % 8 for w in config.widths):
            raise ValueError(f"U-Net widths must be multiples of 8: {config.widths}")
        if config.prediction not in ("epsilon", "v_prediction"):
            raise ValueError(f"a U-Net predicts epsilon or v_prediction, not {config.prediction}")
        if config.patch not in (1, 2, 4):
            raise ValueError(f"patches of 1, 2 or 4 px, not {config.patch}")
        if config.image_size % (config.patch * 2 ** (len(config.widths) - 1)):
            raise ValueError(
                f"{config.image_size} px in {config.patch} px patches cannot be halved "
                f"{len(config.widths) - 1} times"
            )
        return config

    @property
    def null_label(self) -> int:
        return self.num_classes  # the embedding row that means "no class"


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


class ResBlock(nn.Module):
    def __init__(self, width_in: int, width_out: int, embedding: int, activated: bool) -> None:
        super().__init__()
        self.activated = activated
        self.norm1 = nn.GroupNorm(8, width_in)
        self.conv1 = nn.Conv2d(width_in, width_out, 3, padding=1)
        self.embed = nn.Linear(embedding, width_out)
        self.norm2 = nn.GroupNorm(8, width_out)
        self.conv2 = nn.Conv2d(width_out, width_out, 3, padding=1)
        self.skip = nn.Conv2d(width_in, width_out, 1) if width_in != width_out else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        e = F.silu(e) if self.activated else e
        h = self.conv1(F.silu(self.norm1(x))) + self.embed(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    def __init__(self, config: DdpmConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.base = widths[0]
        embedding = 4 * widths[0]
        activated = config.activated_embedding
        self.time = nn.Sequential(
            nn.Linear(widths[0], embedding), nn.SiLU(), nn.Linear(embedding, embedding)
        )
        self.label = nn.Embedding(config.num_classes + 1, embedding) if config.num_classes else None
        folded = config.channels * config.patch**2
        self.inp = nn.Conv2d(folded, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        width = widths[0]
        for level, level_width in enumerate(widths):
            self.down.append(ResBlock(width, level_width, embedding, activated))
            width = level_width
            if level < len(widths) - 1:
                self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
        self.mid = ResBlock(width, width, embedding, activated)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(widths))):
            self.up.append(ResBlock(width + widths[level], widths[level], embedding, activated))
            width = widths[level]
            if level > 0:
                self.upsample.append(nn.ConvTranspose2d(width, widths[level - 1], 4, 2, 1))
                width = widths[level - 1]
        self.out = nn.Sequential(
            nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, folded, 3, padding=1)
        )

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        e = self.time(timestep_embedding(t, self.base))
        if self.label is not None:
            if labels is None:
                labels = torch.full((len(x),), self.config.null_label, device=x.device)
            e = e + self.label(labels)
        patch = self.config.patch
        h = self.inp(F.pixel_unshuffle(x, patch) if patch > 1 else x)
        skips = []
        for level, block in enumerate(self.down):
            h = block(h, e)
            skips.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)
        h = self.mid(h, e)
        for index, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], 1), e)
            if index < len(self.upsample):
                h = self.upsample[index](h)
        out = self.out(h)
        return F.pixel_shuffle(out, patch) if patch > 1 else out
