"""Masks and canvases for inpainting and outpainting, as A1111 prepares them (numpy only).

Masks are float32 H x W arrays in [0, 1] (1 = repaint); images are H x W x 3 uint8.
A1111 does this with OpenCV and Pillow; OpenCV is not a dependency of this app, so the
same operations are written with scipy.ndimage, with A1111's parameters: its mask blur is
cv2.GaussianBlur with a kernel of 2 * int(2.5 * sigma + 0.5) + 1 taps and reflect-101
borders, which is gaussian_filter(truncate=2.5, mode="mirror") exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

BLUR_TRUNCATE = 2.5  # A1111's kernel reaches 2.5 sigma
# A1111's fill: blur the known pixels into the hole at shrinking radii (modules/masking.py).
FILL_PASSES = ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1))
MIRROR_BLUR = 8.0  # px: a mirrored border is blurred so it reads as context, not a copy


@dataclass(frozen=True)
class PreparedMask:
    """`sharp`: what is repainted (after invert and grow); `soft`: the same blurred by
    the mask blur, through which the result is composited."""

    sharp: np.ndarray
    soft: np.ndarray

    @property
    def empty(self) -> bool:
        return not bool((self.sharp > 0).any())


def as_mask(pixels: np.ndarray) -> np.ndarray:
    """uint8 grey (H x W) or RGB/RGBA (H x W x C) -> float [0, 1]; grey levels kept
    (soft masks are honoured, as A1111 keeps its mask's L channel)."""
    array = np.asarray(pixels)
    if array.ndim == 3:
        array = array[..., :3].mean(axis=2) if array.shape[2] >= 3 else array[..., 0]
    scale = 255.0 if array.dtype == np.uint8 or array.max(initial=0) > 1 else 1.0
    return np.clip(array.astype(np.float32) / scale, 0.0, 1.0)


def prepare_mask(mask: np.ndarray, *, invert: bool, grow: int, blur: int) -> PreparedMask:
    """A1111's order: invert ("inpaint not masked"), grow or shrink, then blur."""
    sharp = 1.0 - mask if invert else mask.astype(np.float32)
    sharp = grow_mask(sharp, grow)
    return PreparedMask(sharp, blur_mask(sharp, blur))


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate (pixels > 0) or erode (< 0) by a disc of that radius; grey levels kept."""
    if pixels == 0:
        return mask.astype(np.float32)
    radius = abs(pixels)
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disc = x * x + y * y <= radius * radius
    morph = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion
    return morph(mask, footprint=disc, mode="nearest").astype(np.float32)


def blur_reach(blur: int) -> int:
    """How far (px) the blur spreads the mask: the Gaussian kernel's radius."""
    return int(BLUR_TRUNCATE * blur + 0.5) if blur > 0 else 0


def blur_mask(mask: np.ndarray, blur: int) -> np.ndarray:
    if blur <= 0:
        return mask.astype(np.float32)
    blurred = ndimage.gaussian_filter(
        mask.astype(np.float32), sigma=blur, truncate=BLUR_TRUNCATE, mode="mirror"
    )
    return np.clip(blurred, 0.0, 1.0)


# ---------------------------------------------------------------- only masked


def crop_region(mask: np.ndarray, padding: int) -> tuple[int, int, int, int] | None:
    """A1111's get_crop_region: the box (x0, y0, x1, y1) of the mask's non-zero pixels
    grown by `padding` and clipped to the image; None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    height, width = mask.shape
    return (
        max(0, int(cols[0]) - padding),
        max(0, int(rows[0]) - padding),
        min(width, int(cols[-1]) + 1 + padding),
        min(height, int(rows[-1]) + 1 + padding),
    )


def expand_to_aspect(
    box: tuple[int, int, int, int], target: tuple[int, int], image: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A1111's expand_crop_region: grow the box to the output's aspect ratio (width,
    height), centred, shifted back inside the image where it can be."""
    x0, y0, x1, y1 = box
    aspect = target[0] / target[1]
    width, height = x1 - x0, y1 - y0
    if width / height < aspect:
        x0, x1 = _widen(x0, x1, round(height * aspect), image[0])
    else:
        y0, y1 = _widen(y0, y1, round(width / aspect), image[1])
    return x0, y0, x1, y1


def _widen(low: int, high: int, size: int, limit: int) -> tuple[int, int]:
    size = min(size, limit)
    low -= (size - (high - low)) // 2
    low = min(max(0, low), limit - size)
    return low, low + size


# ---------------------------------------------------------------- masked content


def fill_masked(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A1111's "fill": the masked area painted from the surrounding colours, as A1111
    alpha-composites the known pixels blurred at shrinking radii (coarse colour first,
    then finer detail near the edge)."""
    known = (mask <= 0.5).astype(np.float32)
    if known.all():
        return image.copy()
    if not known.any():
        return np.full_like(image, 127)
    pixels = image.astype(np.float32)
    out = np.broadcast_to(pixels[known > 0].mean(axis=0), pixels.shape).copy()
    for radius, repeats in FILL_PASSES:
        weight = _smooth(known, radius)
        colour = _smooth(pixels * known[..., None], radius, channels=True)
        colour /= np.maximum(weight, 1e-6)[..., None]
        alpha = (1.0 - (1.0 - np.clip(weight, 0, 1)) ** repeats)[..., None]
        out = out * (1 - alpha) + colour * alpha
    out = np.where(known[..., None] > 0, pixels, out)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _smooth(array: np.ndarray, radius: float, channels: bool = False) -> np.ndarray:
    if radius <= 0:
        return array
    sigma = (radius, radius, 0) if channels else radius
    return ndimage.gaussian_filter(array, sigma=sigma, mode="nearest")


# ---------------------------------------------------------------- outpaint


def extend_canvas(
    image: np.ndarray,
    sides: tuple[int, int, int, int],
    fill: str,
    feather: int,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The source on a larger canvas (left, top, right, bottom px more) with the new
    area filled, and the mask to inpaint: 1 on the new area, ramping down to 0 over
    `feather` px into the original on each extended side."""
    left, top, right, bottom = sides
    pad = ((top, bottom), (left, right), (0, 0))
    if fill == "mirror":
        canvas = np.pad(image, pad, mode="symmetric")
        canvas = _blur_new_area(canvas, image.shape, sides)
    elif fill == "noise":
        canvas = np.pad(image, pad, mode="edge")
        noise = np.random.default_rng(seed).integers(0, 256, canvas.shape, dtype=np.uint8)
        new = outpaint_mask(image.shape[:2], sides, 0) > 0
        canvas[new] = noise[new]
    else:  # "edge"
        canvas = np.pad(image, pad, mode="edge")
    return canvas, outpaint_mask(image.shape[:2], sides, feather)


def outpaint_mask(shape: tuple[int, ...], sides: tuple[int, int, int, int], feather: int):
    """1 outside the original, a linear ramp `feather` px deep inside it along each
    extended side, 0 elsewhere."""
    height, width = shape[:2]
    left, top, right, bottom = sides
    ys = np.arange(height + top + bottom, dtype=np.float32) - top
    xs = np.arange(width + left + right, dtype=np.float32) - left
    # Distance into the original from each extended side (negative: outside it).
    depth = [
        (xs + 0.5, left, 1),
        (width - xs - 0.5, right, 1),
        (ys + 0.5, top, 0),
        (height - ys - 0.5, bottom, 0),
    ]
    mask = np.zeros((ys.size, xs.size), dtype=np.float32)
    for distance, extended, axis in depth:
        if not extended:
            continue
        if feather:
            line = np.clip(1.0 - distance / feather, 0.0, 1.0)
        else:
            line = (distance < 0).astype(np.float32)
        mask = np.maximum(mask, line[:, None] if axis == 0 else line[None, :])
    return mask


def _blur_new_area(canvas: np.ndarray, shape: tuple[int, ...], sides) -> np.ndarray:
    blurred = ndimage.gaussian_filter(
        canvas.astype(np.float32), sigma=(MIRROR_BLUR, MIRROR_BLUR, 0), mode="nearest"
    )
    new = outpaint_mask(shape, sides, 0) > 0
    out = canvas.copy()
    out[new] = np.round(blurred[new]).astype(np.uint8)
    return out


# ---------------------------------------------------------------- after denoising


def match_colours(result: np.ndarray, source: np.ndarray, mask: np.ndarray, ring: int = 16):
    """Correct the repainted part's colour drift: the result's mean and spread per Lab
    channel on a ring just outside the mask (where it should equal the source) are
    mapped onto the source's there, and the correction is applied through the mask."""
    inside = mask > 0.5
    around = grow_mask(inside.astype(np.float32), ring) > 0.5
    around &= ~inside
    if around.sum() < 16 or not inside.any():
        return result
    lab_result, lab_source = rgb_to_lab(result), rgb_to_lab(source)
    got, want = lab_result[around], lab_source[around]
    scale = want.std(axis=0) / np.maximum(got.std(axis=0), 1e-3)
    scale = np.clip(scale, 0.5, 2.0)  # a flat ring says little about spread
    corrected = (lab_result - got.mean(axis=0)) * scale + want.mean(axis=0)
    rgb = lab_to_rgb(corrected).astype(np.float32)
    blended = rgb * mask[..., None] + result.astype(np.float32) * (1 - mask[..., None])
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def composite(result: np.ndarray, source: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """The source pasted back through the blurred mask: where it is 0 the pixels are
    the source's exactly (no VAE round trip), where 1 the result's."""
    alpha = soft[..., None].astype(np.float32)
    blended = result.astype(np.float32) * alpha + source.astype(np.float32) * (1 - alpha)
    blended = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return np.where(alpha > 0, blended, source)


# sRGB (D65) <-> CIE Lab, the usual formulas.
_RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_WHITE = np.array([0.950456, 1.0, 1.088754])


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 0.2068966, f**3, (f - 16 / 116) / 7.787) * _WHITE
    linear = np.clip(xyz @ np.linalg.inv(_RGB_TO_XYZ).T, 0, 1)
    c = np.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, linear * 12.92)
    return np.clip(np.round(c * 255), 0, 255).astype(np.uint8)
