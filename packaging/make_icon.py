"""Draw the app icon (resources/icon.png, and icon.ico for Windows) with Pillow.

A dark tile holding a walk through latent space: five discs along an arc, from noise
blue to sample orange, the last one whole. Run it again to remake the committed files:

    .venv/bin/python packaging/make_icon.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
SIDE = 512  # drawn large, then scaled down (antialiasing)
START, END = (64, 156, 255), (255, 150, 40)


def draw() -> Image.Image:
    image = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
    tile = ImageDraw.Draw(image)
    tile.rounded_rectangle((16, 16, SIDE - 16, SIDE - 16), radius=96, fill=(30, 30, 40, 255))
    glow = Image.new("RGBA", (SIDE, SIDE), (0, 0, 0, 0))
    discs = ImageDraw.Draw(glow)
    for i in range(5):
        t = i / 4
        x = 124 + 236 * t
        y = 388 - 236 * t - 56 * math.sin(math.pi * t)  # an arc, as slerp walks
        radius = 24 + 36 * t
        colour = tuple(round(a + (b - a) * t) for a, b in zip(START, END, strict=True))
        discs.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*colour, 255))
    image.alpha_composite(glow.filter(ImageFilter.GaussianBlur(18)))
    image.alpha_composite(glow)
    return image


def main() -> None:
    icon = draw().resize((256, 256), Image.Resampling.LANCZOS)
    icon.save(ROOT / "resources" / "icon.png")
    icon.save(ROOT / "resources" / "icon.ico", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])


if __name__ == "__main__":
    main()
