"""All the named texts a picture file carries, whatever its format, without its pixels.

A PNG's text chunks by name (png_chunks); a JPEG's or WebP's EXIF and XMP under the
names the same texts have in a PNG (exif_text), so each tool's reader looks in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from engine.store.foreign import exif_text, png_chunks

MAX_FILE = 2 * 1024**3  # bytes: larger is not a picture anyone generated


class Unreadable(Exception):
    """The file cannot be read as a picture at all; the message is a sentence."""


@dataclass
class PictureText:
    texts: dict[str, str] = field(default_factory=dict)
    pixels: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)


def read_picture_text(path: Path) -> PictureText:
    """Raises Unreadable (with a sentence) when `path` is not a picture we can open."""
    try:
        with open(path, "rb") as stream:
            if Path(path).stat().st_size > MAX_FILE:
                raise Unreadable(f"{path.name} is over 2 GiB: not read as a picture.")
            if stream.read(8) == png_chunks.SIGNATURE:
                found = png_chunks.read_png_text(stream)
                return PictureText(found.texts, found.size, found.notes)
    except FileNotFoundError:
        raise Unreadable(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise Unreadable(f"{path} is a folder, not a picture.") from None
    except OSError as exc:
        raise Unreadable(f"{path} cannot be read: {exc.strerror or exc}.") from None
    return _other_format(path)


def _other_format(path: Path) -> PictureText:
    notes: list[str] = []
    try:
        with Image.open(path) as image:  # reads the header and metadata, not the pixels
            texts = exif_text.exif_texts(image, notes)
            for key, value in _plain_info(image).items():
                texts.setdefault(key, value)
            return PictureText(texts, image.size, notes)
    except Unreadable:
        raise
    except Exception as exc:  # Pillow signals junk with many types (SyntaxError, ...)
        raise Unreadable(f"{path.name} is not a picture that can be read ({exc}).") from None


def _plain_info(image: Image.Image) -> dict[str, str]:
    """Text Pillow found outside EXIF (a JPEG COM comment, say), under its own name."""
    texts = {}
    for key, value in image.info.items():
        if isinstance(key, str) and isinstance(value, str) and key not in ("exif", "xmp"):
            texts.setdefault(key, value[: png_chunks.MAX_TEXT])
    return texts
