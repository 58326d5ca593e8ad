"""Pixels as PNG bytes and back, for sending images where arrays cannot go (the wire).

PNG is lossless, so the pixels that arrive are the pixels that left: uint8 arrays of
H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA) keep their shape and every value.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

SHAPES = "H x W, H x W x 3 or H x W x 4"


def png_bytes(pixels: np.ndarray) -> bytes:
    """The pixels as a PNG file's bytes; ValueError for what PNG cannot hold exactly."""
    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        raise ValueError(f"Images travel as uint8 pixels, not {array.dtype}.")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"Images travel as {SHAPES} pixels, not {array.shape}.")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def pixels_from_png(data: bytes) -> np.ndarray:
    """The uint8 pixels of PNG bytes that png_bytes wrote (a fresh, writable array)."""
    with Image.open(io.BytesIO(data)) as image:
        if image.mode not in ("L", "RGB", "RGBA"):
            raise ValueError(f"Images travel as grey, RGB or RGBA PNGs, not {image.mode}.")
        return np.array(image, dtype=np.uint8)


def png_base64(pixels: np.ndarray) -> str:
    """The PNG bytes as base64 text, for JSON."""
    return base64.b64encode(png_bytes(pixels)).decode("ascii")


def pixels_from_base64(text: str) -> np.ndarray:
    """Inverse of png_base64."""
    return pixels_from_png(base64.b64decode(text.encode("ascii"), validate=True))
