"""Emoji: a colour data set of real drawings, rendered once from Noto Color Emoji.

    python -m engine.data.emoji        (needs Debian's fonts-noto-color-emoji)

Every single-codepoint emoji the font draws is rendered at the font's bitmap size,
cropped to its drawing, centred on a white square and resized to 32 x 32 with Lanczos.
Only the converted array is committed (resources/datasets/emoji.npz); the app never
needs the font. Noto Color Emoji is © Google, SIL Open Font License 1.1.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from engine.hashing import file_sha256
from engine.resources import DATASETS_DIR

EMOJI_PATH = DATASETS_DIR / "emoji.npz"
FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
BITMAP_SIZE = 109  # the one size a CBDT colour font is drawn at
SIZE = 32
# The blocks where emoji live; unassigned and undrawn codepoints are skipped.
RANGES = (
    (0x1F300, 0x1F5FF),
    (0x1F600, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F900, 0x1F9FF),
    (0x1FA70, 0x1FAFF),
    (0x2600, 0x26FF),
)


def render_all(font_path: Path = FONT, size: int = SIZE) -> tuple[np.ndarray, list[str]]:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), BITMAP_SIZE)
    images, names = [], []
    for first, last in RANGES:
        for code in range(first, last + 1):
            char = chr(code)
            if not unicodedata.name(char, ""):
                continue
            canvas = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
            ImageDraw.Draw(canvas).text((10, 10), char, font=font, embedded_color=True)
            box = canvas.getbbox()
            if box is None or min(box[2] - box[0], box[3] - box[1]) < 40:
                continue  # the font does not draw it (or draws a sliver)
            glyph = canvas.crop(box)
            side = max(glyph.size)
            square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
            square.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
            small = square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
            images.append(np.asarray(small, np.uint8))
            names.append(unicodedata.name(char).lower())
    return np.stack(images), names


def convert(out: Path = EMOJI_PATH) -> Path:
    images, names = render_all()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:  # a file object: numpy adds no suffix of its own
        np.savez_compressed(fh, images=images, names=np.array(names))
    return out


def load_emoji(path: Path = EMOJI_PATH) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 N x 3 x 32 x 32 in [0, 1], no labels: an empty array)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"The emoji data set {path} is missing; recreate it with "
            "`python -m engine.data.emoji` (needs fonts-noto-color-emoji)."
        )
    with np.load(path, allow_pickle=False) as data:
        images = data["images"].astype(np.float32) / 255.0
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)), np.zeros(0, np.uint8)


if __name__ == "__main__":
    written = convert()
    count = len(np.load(written)["images"])
    print(
        f"wrote {written} ({count} emoji, {written.stat().st_size // 1024} KiB, "
        f"sha256 {file_sha256(written)})"
    )
