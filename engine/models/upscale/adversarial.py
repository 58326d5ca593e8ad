"""The parts of adversarial super-resolution (SRGAN, ESRGAN) that need no downloaded weights.

- `PatchDiscriminator`: a small VGG-style critic (strided 3x3 convolutions, no batch norm)
  that scores each patch of a high-resolution image as photo or upscale; narrow enough to
  train on one CPU core beside the generator.
- `relativistic_losses`: ESRGAN's relativistic average GAN loss. The critic is asked
  whether a real patch looks *more* real than the average upscale, not whether it is real
  in itself; both the real and the upscaled images then give the generator gradients,
  which trains more steadily than SRGAN's plain loss on short runs.
- `RandomFeatureLoss`: the perceptual loss. SRGAN compares VGG-19 features, which means
  downloading ImageNet weights; a fixed, seeded, untrained convolutional network at
  several scales works as a texture/structure comparison too (random features capture
  local statistics well: Ulyanov et al. 2018's deep image prior, He et al. 2016's random
  texture synthesis), and needs nothing but a seed.
- `high_pass_loss`: L1 on a Laplacian band, the part of the image that an L1 on pixels
  averages away (which is why PSNR-trained upscalers look soft).
- `grid_loss`: the error's pattern that repeats every `scale` pixels. A pixel-shuffle
  generator draws each of the scale x scale sub-pixels from its own channel, and under an
  adversarial loss it learns to fool the critic with a faint fixed grid (visible in a
  clear sky, and counted as "detail" by any high-pass measure). Photos have no preferred
  phase, so this term is near zero for a faithful upscale and only removes the grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The 3x3 Laplacian: the high-frequency band a pixel loss under-weights.
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


class PatchDiscriminator(nn.Module):
    """Logits, one per patch of the input (a 128 px image gives 8 x 8 of them)."""

    def __init__(self, channels: int = 32, depth: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.LeakyReLU(0.2)]
        width = channels
        for level in range(depth):
            wider = channels * min(2 ** (level + 1) // 2, 4)
            layers += [nn.Conv2d(width, wider, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            width = wider
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image * 2 - 1)  # images in [0, 1], the critic sees [-1, 1]


def relativistic_losses(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the critic's loss, the generator's loss): ESRGAN's relativistic average GAN.

    The critic wants real patches above the average fake one and fakes below the average
    real one; the generator wants the opposite. The averages are over the whole batch.
    """
    real_vs_fake = real_logits - fake_logits.mean()
    fake_vs_real = fake_logits - real_logits.mean()
    ones, zeros = torch.ones_like(real_vs_fake), torch.zeros_like(real_vs_fake)
    bce = F.binary_cross_entropy_with_logits
    critic = (bce(real_vs_fake, ones) + bce(fake_vs_real, zeros)) / 2
    generator = (bce(real_vs_fake, zeros) + bce(fake_vs_real, ones)) / 2
    return critic, generator


class RandomFeatureLoss(nn.Module):
    """L1 between the features of a fixed random convolutional network, at several scales.

    Each stage is a 3x3 convolution (He-initialised from `seed`, never trained) and a
    leaky ReLU, then a 2x average pool before the next: the first stage sees edges and
    fine texture, the later ones larger structures. The weights are buffers, so they are
    neither trained nor saved with the generator.
    """

    def __init__(self, seed: int = 1234, widths: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        previous = 3
        for index, width in enumerate(widths):
            fan_in = previous * 9
            weight = torch.randn(width, previous, 3, 3, generator=generator) * (2 / fan_in) ** 0.5
            self.register_buffer(f"weight{index}", weight)
            previous = width
        self.stages = len(widths)

    def features(self, image: torch.Tensor) -> list[torch.Tensor]:
        found, x = [], image * 2 - 1
        for index in range(self.stages):
            if index:
                x = F.avg_pool2d(x, 2)
            x = F.leaky_relu(F.conv2d(x, getattr(self, f"weight{index}"), padding=1), 0.2)
            found.append(x)
        return found

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            wanted = self.features(target)
        got = self.features(output)
        return sum(F.l1_loss(a, b) for a, b in zip(got, wanted, strict=True)) / self.stages


def high_pass(image: torch.Tensor) -> torch.Tensor:
    """Each channel's Laplacian (edges of the image replicated, so borders add nothing)."""
    channels = image.shape[1]
    kernel = LAPLACIAN.to(image).expand(channels, 1, 3, 3)
    return F.conv2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), kernel, groups=channels)


def high_pass_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(high_pass(output), high_pass(target))


def grid_loss(
    output: torch.Tensor, target: torch.Tensor, scale: int, window: int = 16
) -> torch.Tensor:
    """L1 of the error's mean over each sub-pixel phase, in windows of `window` x `window`
    blocks of `scale` px, less its mean over the phases: a grid of period `scale`."""
    size = scale * window
    height, width = output.shape[-2] // size * size, output.shape[-1] // size * size
    error = (output - target)[..., :height, :width]
    b, c = error.shape[:2]
    blocks = error.reshape(b, c, height // size, window, scale, width // size, window, scale)
    phases = blocks.mean(dim=(3, 6))  # b, c, rows, scale, columns, scale
    return (phases - phases.mean(dim=(3, 5), keepdim=True)).abs().mean()
