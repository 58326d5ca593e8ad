"""The preprocessors that move or blur pixels rather than find edges: colour grid, content
shuffle, tile, blur, and the inpaint ControlNet's masked image. As sd-webui-controlnet's
(color, shuffle, tile_resample, blur_gaussian, inpaint), re-made from their descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np
from PIL import Image

from engine.api.errors import BadInput
from engine.models.sd.control.filters import gaussian

# sd-webui-controlnet's colour grid: cells of 64 px.
COLOR_CELL = 64.0
# Content shuffle: the noise that makes the flow field has one random value every 256 px.
SHUFFLE_SCALE = 256.0
# tile_resample's "down sampling rate": 1 keeps the picture, 2 halves it, up to 8.
TILE_RATE = 1.0
# blur_gaussian's sigma.
BLUR_SIGMA = 9.0
# The mask's level above which a pixel is masked (sd-webui-controlnet: > 0.5).
MASK_LEVEL = 127


def color(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """A grid of flat colours: the picture shrunk by "cell" (64) with area averaging, then
    grown back by nearest neighbour, so each cell is its average colour."""
    height, width = rgb.shape[:2]
    cell = max(1.0, float(settings.get("cell", COLOR_CELL)))
    small = cv2.resize(
        rgb,
        (max(1, int(width // cell)), max(1, int(height // cell))),
        interpolation=cv2.INTER_AREA,
    )
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def noise_field(height: int, width: int, scale: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in 0..1: uniform values one every `scale` px, grown by bicubic
    interpolation and cropped, then stretched to 0..1 (0 where it is flat)."""
    coarse = rng.uniform(0.0, 1.0, size=(height // scale + 2, width // scale + 2))
    grown = cv2.resize(
        coarse.astype(np.float32),
        (width + 2 * scale, height + 2 * scale),
        interpolation=cv2.INTER_CUBIC,
    )[scale : scale + height, scale : scale + width]
    grown -= grown.min()
    top = float(grown.max())
    return grown / top if top > 0 else grown


def shuffle(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """Content shuffle: each pixel is read from a place a smooth random flow field points
    to, anywhere in the picture, so colours and textures stay and the layout goes. The
    same "seed" always gives the same map; "scale" sets how smooth the flow is."""
    height, width = rgb.shape[:2]
    scale = max(1, int(settings.get("scale", SHUFFLE_SCALE)))
    rng = np.random.default_rng(int(settings.get("seed", 0)))
    x = noise_field(height, width, scale, rng) * float(width - 1)
    y = noise_field(height, width, scale, rng) * float(height - 1)
    return cv2.remap(
        rgb,
        x.astype(np.float32),
        y.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def tile(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """tile_resample: the picture shrunk by "rate" (box filter) and grown back (bicubic),
    so the tile ControlNet sees the blurred detail it is to restore. Rate 1 keeps it."""
    height, width = rgb.shape[:2]
    rate = max(1.0, float(settings.get("rate", TILE_RATE)))
    if rate == 1.0:
        return rgb
    picture = Image.fromarray(rgb)
    small = picture.resize(
        (max(1, round(width / rate)), max(1, round(height / rate))), Image.Resampling.BOX
    )
    return np.asarray(small.resize((width, height), Image.Resampling.BICUBIC))


def blur(rgb: np.ndarray, settings: Mapping[str, float]) -> np.ndarray:
    """A Gaussian blur of "sigma" (9, sd-webui-controlnet's blur_gaussian), each channel."""
    sigma = max(0.0, float(settings.get("sigma", BLUR_SIGMA)))
    return np.clip(np.rint(gaussian(rgb, sigma)), 0, 255).astype(np.uint8)


def inpaint_mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """The mask as booleans (True: to repaint), checked against the picture's size."""
    if mask is None:
        raise BadInput(
            "The inpaint preprocessor needs a mask: paint one on the source, or load a mask, "
            "then try again."
        )
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.shape != tuple(shape[:2]):
        raise BadInput(
            f"The inpaint mask is {mask.shape[1]}×{mask.shape[0]} px and the control image "
            f"{shape[1]}×{shape[0]}: they must be the same size."
        )
    return mask > (0.5 if mask.dtype.kind in "fb" else MASK_LEVEL)


def inpaint(
    rgb: np.ndarray, _settings: Mapping[str, float], mask: np.ndarray | None = None
) -> np.ndarray:
    """The inpaint ControlNet's image as a picture: masked pixels black, the rest kept.
    The ControlNet itself is given `inpaint_condition` (masked pixels at -1, which no
    uint8 picture holds); this map is what the unit shows and keeps with the result."""
    masked = inpaint_mask(mask, rgb.shape)
    out = rgb.copy()
    out[masked] = 0
    return out


def inpaint_condition(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The inpaint ControlNet's input, float32 H x W x 3: the picture in 0..1 and -1 at
    every masked pixel, as sd-webui-controlnet and diffusers' examples build it."""
    masked = inpaint_mask(mask, rgb.shape)
    out = np.asarray(rgb, dtype=np.float32) / 255.0
    out[masked] = -1.0
    return out
