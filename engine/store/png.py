"""PNG bytes in and out: pixels plus text chunks, through Pillow."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from engine.atomic import write_bytes_atomic
from engine.store.errors import save_failed


def to_pil(rgb: np.ndarray) -> Image.Image:
    """HxWx3 (or HxW, HxWx4) uint8 pixels as a Pillow image."""
    array = np.asarray(rgb)
    if array.dtype != np.uint8:
        raise ValueError(f"Images are stored as uint8 pixels, not {array.dtype}.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"Expected HxWx3 pixels, got shape {array.shape}.")
    return Image.fromarray(np.ascontiguousarray(array))


def encode_png(rgb: np.ndarray, text: Mapping[str, str] | None = None) -> bytes:
    """The whole PNG in memory, so an encoding error never leaves a file behind."""
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, _encodable(value))  # falls back to iTXt (UTF-8) when latin-1 won't do
    buffer = io.BytesIO()
    to_pil(rgb).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _encodable(text: str) -> str:
    """Text UTF-8 can hold: a lone surrogate (an undecodable file name on the command
    line, say) becomes U+FFFD instead of failing the save. Prompts never get here with
    one: requests refuse them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def save_png_copy(rgb: np.ndarray, path: Path, text: Mapping[str, str] | None = None) -> Path:
    """ "Save as…": write pixels (and text chunks, e.g. metadata.png_text) to any path.

    Raises StoreError with a sentence when the folder cannot take the file.
    """
    path = Path(path)
    data = encode_png(rgb, text)
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise save_failed(path, exc, in_gallery=False) from exc
    return path


def read_png_text(path: Path) -> tuple[dict[str, str], tuple[int, int]]:
    """The text chunks and (width, height) of an image file, without decoding pixels.

    Only chunks before the pixel data are seen; Pillow, A1111 and ComfyUI all write
    theirs there. Raises OSError if the file cannot be opened, ValueError if it is
    not an image Pillow can read.
    """
    try:
        with Image.open(path) as image:
            text = {k: str(v) for k, v in image.info.items() if isinstance(v, str)}
            return text, image.size
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as exc:  # Pillow signals junk with many types (SyntaxError, ...)
        raise ValueError(f"{path} is not an image that can be read: {exc}") from exc
