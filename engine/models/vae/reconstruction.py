"""What a VAE makes of one image: its reconstruction, the error per pixel, and where the
image lands in a 2-D map of the latent space (the first two principal components of the
encoded data set, points coloured by class)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

MAP_SIDE = 320
MARGIN = 16
# Matplotlib's tab10: ten classes told apart, also by most colour-blind eyes.
PALETTE = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)  # fmt: skip
UNLABELLED = (110, 140, 170)
BACKGROUND = (0x1B, 0x1B, 0x1B)


def error_image(x: torch.Tensor, reconstruction: torch.Tensor) -> np.ndarray:
    """H x W x 3 uint8: |x − x̂| averaged over channels, black (0) through red and
    yellow to white (an error of 0.5 or more)."""
    error = (x - reconstruction).abs().mean(0).clamp(0, 0.5).div(0.5).numpy()
    ramp = np.stack([error * 3, error * 3 - 1, error * 3 - 2], axis=-1)
    return (np.clip(ramp, 0, 1) * 255).round().astype(np.uint8)


def ink_colours(images: torch.Tensor) -> torch.Tensor:
    """N x 3 uint8: each image's mean colour over its inked pixels (those not near the
    white background), for pictures of one coloured thing on white."""
    ink = (images.min(1).values < 0.8).unsqueeze(1)  # N x 1 x H x W
    total = (images * ink).sum((2, 3)) / ink.sum((2, 3)).clamp(min=1)
    return (total * 255).round().clamp(0, 255).to(torch.uint8)


@dataclass(frozen=True)
class LatentMap:
    """The encoded data set projected on its first two principal components."""

    mean: torch.Tensor  # d
    basis: torch.Tensor  # d x 2
    points: torch.Tensor  # N x 2
    labels: torch.Tensor | None
    class_names: tuple[str, ...]
    explained: float  # the share of the variance the two components hold
    # Each point in its own image's colour instead of its class's (shapes: hue is what
    # the first components mostly hold, so the map shows it).
    colours: torch.Tensor | None = None

    @classmethod
    def of(
        cls,
        mu: torch.Tensor,
        labels: torch.Tensor | None,
        names: tuple[str, ...],
        colours: torch.Tensor | None = None,
    ) -> LatentMap:
        mean = mu.mean(0)
        centred = (mu - mean).double()
        _u, s, vh = torch.linalg.svd(centred, full_matrices=False)
        basis = vh[:2].T.float()
        explained = float(s[:2].pow(2).sum() / s.pow(2).sum())
        return cls(mean, basis, (mu - mean) @ basis, labels, names, explained, colours)

    def place(self, code: torch.Tensor) -> torch.Tensor:
        return (code - self.mean) @ self.basis

    def render(self, code: torch.Tensor) -> np.ndarray:
        """MAP_SIDE² RGB: the data's points, and a ringed cross where `code` lands."""
        mark = self.place(code)
        everything = torch.cat([self.points, mark.view(1, 2)])
        low, high = everything.min(0).values, everything.max(0).values
        scale = (MAP_SIDE - 2 * MARGIN) / (high - low).clamp(min=1e-6)

        def pixel(point: torch.Tensor) -> tuple[float, float]:
            x, y = ((point - low) * scale + MARGIN).tolist()
            return x, MAP_SIDE - y  # up is up

        image = Image.new("RGB", (MAP_SIDE, MAP_SIDE), BACKGROUND)
        draw = ImageDraw.Draw(image)
        for i, point in enumerate(self.points):
            colour = self._colour(i)
            x, y = pixel(point)
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=colour)
        x, y = pixel(mark)
        draw.ellipse((x - 8, y - 8, x + 8, y + 8), outline=(255, 255, 255), width=2)
        draw.line((x - 12, y, x + 12, y), fill=(255, 255, 255), width=1)
        draw.line((x, y - 12, x, y + 12), fill=(255, 255, 255), width=1)
        self._legend(draw)
        return np.asarray(image)

    def _colour(self, i: int) -> tuple[int, int, int]:
        if self.colours is not None:
            return tuple(int(c) for c in self.colours[i])
        if self.labels is None:
            return UNLABELLED
        return PALETTE[int(self.labels[i]) % len(PALETTE)]

    def _legend(self, draw: ImageDraw.ImageDraw) -> None:
        font = ImageFont.load_default()
        # The bitmap default font has ASCII only: no "×" or "·" here.
        draw.text((4, 2), f"PC 1 vs PC 2: {self.explained:.0%} of the variance",
                  fill=(200, 200, 200), font=font)  # fmt: skip
        if self.colours is not None:
            draw.text((4, MAP_SIDE - 14), "each point in its image's own colour",
                      fill=(200, 200, 200), font=font)  # fmt: skip
            return
        if self.labels is None or not self.class_names:
            return
        x = 4
        for k, name in enumerate(self.class_names[: len(PALETTE)]):
            draw.rectangle((x, MAP_SIDE - 11, x + 6, MAP_SIDE - 5), fill=PALETTE[k])
            draw.text((x + 9, MAP_SIDE - 14), name, fill=(200, 200, 200), font=font)
            x += 14 + int(draw.textlength(name, font=font))
