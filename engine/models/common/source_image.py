"""Reading an input image (to upscale, to reconstruct): any file Pillow opens, as RGB
pixels plus alpha.

EXIF orientation is applied (a phone photo comes out the way it is shown); grey, palette,
16-bit and CMYK images are converted, each with a note the user sees. The header is read
before the pixels, so a decompression bomb (a small file claiming 30000 x 30000) is refused
before it fills the memory.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.api import limits
from engine.api.errors import UnreadableImage

_MODE_NOTES = {
    "L": "a grey image: upscaled as colour",
    "LA": "a grey image with transparency: upscaled as colour, transparency kept",
    "1": "a black-and-white image: upscaled as colour",
    "P": "a palette image: converted to full colour",
    "PA": "a palette image: converted to full colour",
    "CMYK": "a CMYK image: converted to RGB",
    "YCbCr": "a YCbCr image: converted to RGB",
    "LAB": "a Lab image: converted to RGB",
    "HSV": "an HSV image: converted to RGB",
    "I;16": "a 16-bit image: reduced to 8 bits per channel",
    "I;16B": "a 16-bit image: reduced to 8 bits per channel",
    "I;16L": "a 16-bit image: reduced to 8 bits per channel",
    "I": "a 16/32-bit image: reduced to 8 bits per channel",
    "F": "a floating-point image: reduced to 8 bits per channel",
}


@dataclass(frozen=True)
class SourceImage:
    rgb: np.ndarray  # H x W x 3 uint8
    alpha: np.ndarray | None  # H x W uint8, None when the image is opaque
    sha256: str
    notes: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def read_source(path: Path, allow_large: bool = False) -> SourceImage:
    path = Path(path)
    data = _read_bytes(path)
    try:
        image = _open_checked(path, data, allow_large)
    except UnidentifiedImageError:
        raise UnreadableImage(
            f"{path.name} is not an image this app can read (PNG, JPEG, WebP, TIFF, BMP…)."
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(
            f"{path.name} could not be read: it looks damaged or cut short ({exc}). "
            "Open it in an image editor and save it again."
        ) from None
    notes = []
    if image.getexif().get(0x0112, 1) != 1:
        notes.append("turned upright as its EXIF orientation says")
        image = ImageOps.exif_transpose(image)
    if image.mode in _MODE_NOTES:
        notes.append(_MODE_NOTES[image.mode])
    rgb, alpha = _rgb_and_alpha(image)
    return SourceImage(rgb, alpha, hashlib.sha256(data).hexdigest(), tuple(notes))


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise UnreadableImage(f"{path} is a folder; choose an image in it, or drop the folder.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableImage(f"The image {path} does not exist (moved or deleted?).") from None
    except PermissionError:
        raise UnreadableImage(f"{path.name} cannot be read: permission denied.") from None
    except OSError as exc:
        raise UnreadableImage(f"{path.name} could not be read ({exc.strerror or exc}).") from None
    if not data:
        raise UnreadableImage(f"{path.name} is empty (0 bytes): there is no image in it.")
    return data


def _open_checked(path: Path, data: bytes, allow_large: bool) -> Image.Image:
    """Open the header, check the size it claims against our own limit, then decode.
    Pillow's bomb check is off meanwhile: ours is the one that speaks to the user."""
    guard = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.UPSCALE_MAX_INPUT_PIXELS and not allow_large:
                raise _too_large(path, width, height)
            image.load()
    finally:
        Image.MAX_IMAGE_PIXELS = guard
    return image


def _too_large(path: Path, width: int, height: int) -> UnreadableImage:
    megapixels = width * height / 1e6
    return UnreadableImage(
        f"{path.name} says it is {width}×{height} pixels ({megapixels:,.0f} megapixels), "
        f"more than the {limits.UPSCALE_MAX_INPUT_PIXELS / 1e6:.0f} megapixels this app "
        "upscales without asking. If the image is real, confirm to upscale it anyway; a "
        "small file that claims this size is damaged or made to exhaust memory."
    )


def _rgb_and_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max(initial=0) > 255 else 255.0
        grey = np.clip(np.round(array / top * 255), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"))
        alpha = rgba[:, :, 3]
        return np.ascontiguousarray(rgba[:, :, :3]), None if alpha.min() == 255 else alpha
    return np.asarray(image.convert("RGB")), None


def fitted_to_model(
    source: SourceImage, channels: int, size: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The image as a model of `channels` x `size` x `size` takes it: C x H x W floats in
    [0, 1], resized (the whole image, squeezed if it is not square) and made grey or
    colour as needed, with a note for each change the user should know of."""
    notes = list(source.notes)
    image = Image.fromarray(source.rgb)
    if (source.width, source.height) != (size, size):
        notes.append(f"resized from {source.width}×{source.height} to {size}×{size}")
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    if source.alpha is not None:
        notes.append("its transparency was dropped")
    if channels == 1:
        if not _is_grey(source.rgb):
            notes.append("made grey, as the model draws grey images")
        array = np.asarray(image.convert("L"), np.float32)[None] / 255.0
    else:
        array = np.asarray(image, np.float32).transpose(2, 0, 1) / 255.0
    return np.ascontiguousarray(array), tuple(notes)


def _is_grey(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
