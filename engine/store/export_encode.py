"""One picture's pixels as the bytes of a new file: PNG, JPEG or WebP, with the A1111
text or with no metadata at all.

- The A1111 text is the picture's own `parameters` (ours always has one; so do A1111's,
  Forge's and Krita's) or, for another tool's picture (ComfyUI, InvokeAI...), the
  fields our foreign readers mapped, written the way A1111 writes them.
- JPEG and WebP carry it in EXIF UserComment (0x9286, in the Exif IFD) as A1111 writes
  it through piexif.helper.UserComment.dump(text, encoding="unicode"): "UNICODE\\0" and
  then UTF-16 big-endian, where A1111's PNG Info (and sites that read A1111 text)
  look. A PNG carries it as a `parameters` text chunk.
- Stripped: pixels only. No text chunk, no EXIF, no XMP. The ICC colour profile is
  kept: it holds no words about the picture, and without it the colours would change.
- A picture whose EXIF says "rotated" is turned upright first, as the new file has no
  orientation tag to say so.
- JPEG has no transparency: transparent pixels are flattened onto white.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from PIL import Image, ImageOps, PngImagePlugin

from engine.store.foreign import read_texts
from engine.store.foreign.a1111_text import is_a1111_text
from engine.store.foreign.as_a1111 import as_a1111_text
from engine.store.foreign.exif_text import EXIF_IFD, USER_COMMENT
from engine.store.foreign.picture_text import read_picture_text

FORMATS = {"png": ("PNG", ".png"), "jpeg": ("JPEG", ".jpg"), "webp": ("WEBP", ".webp")}
UNICODE_PREFIX = b"UNICODE\0"
_LONG, _UNDEFINED = 4, 7  # TIFF field types
_NO_NEXT_IFD = b"\0\0\0\0"
# A JPEG's APP1 segment holds 65,533 bytes; the rest of the EXIF takes a few dozen.
MAX_JPEG_EXIF = 65_000
_PIXEL_INFO = ("icc_profile", "transparency")  # colours and which one is see-through
MAX_PIXELS = 16384 * 16384  # a larger picture is not one anyone generated


class CannotEncode(Exception):
    """This picture cannot become the file asked for; the message is a sentence."""


def a1111_text(path: Any) -> str | None:
    """The A1111 `parameters` text to carry for the picture at `path`; None when it
    carries nothing a generator's parameters can be made from."""
    found = read_picture_text(path)  # raises Unreadable with a sentence
    if is_a1111_text(found.texts):  # A1111's own words, whichever tool wrote them
        return found.texts["parameters"].strip()
    return as_a1111_text(read_texts(found.texts, found.pixels))


def user_comment(text: str) -> bytes:
    """EXIF UserComment bytes as piexif.helper.UserComment.dump(text, "unicode") makes."""
    return UNICODE_PREFIX + text.encode("utf-16-be", "surrogatepass")


def encode(image: Image.Image, fmt: str, text: str | None, quality: int) -> bytes:
    """`image` (loaded) as a whole file in memory, so a failure never leaves a file."""
    pil_format, _suffix = FORMATS[fmt]
    image = ImageOps.exif_transpose(image) or image
    image = _for_format(image, fmt)
    # Pillow saves some of `info` unasked (XMP into a JPEG, say): only what describes
    # the pixels stays, and the metadata asked for is passed below.
    image.info = {k: v for k, v in image.info.items() if k in _PIXEL_INFO}
    options: dict[str, Any] = {}
    icc = image.info.get("icc_profile")
    if icc:
        options["icc_profile"] = icc
    if fmt == "png":
        if text is not None:
            info = PngImagePlugin.PngInfo()
            info.add_text("parameters", _utf8_safe(text))  # iTXt when latin-1 won't do
            options["pnginfo"] = info
    else:
        options["quality"] = quality
        if fmt == "webp" and quality >= 100:
            options["lossless"] = True  # WebP's 100 is lossless; JPEG has no such mode
        if text is not None:
            options["exif"] = _exif(text, fmt)
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format, **options)
    return buffer.getvalue()


def _exif(text: str, fmt: str) -> bytes:
    data = exif_block(user_comment(_utf8_safe(text)))
    if fmt == "jpeg" and len(data) > MAX_JPEG_EXIF:
        raise CannotEncode(
            f"its parameters text ({len(text):,} characters) is too long for a JPEG's EXIF "
            "(64 KiB); export it as PNG or WebP, or strip the metadata."
        )
    return data


def exif_block(comment: bytes) -> bytes:
    """EXIF holding one tag, UserComment, typed UNDEFINED (7) in the Exif IFD, big-endian
    as piexif writes it. Built by hand: Pillow's Image.Exif does not know the tag and
    types bytes as BYTE (1), which piexif (A1111's reader) returns as a tuple of
    numbers, not as the text."""
    exif_ifd_at = 8 + 2 + 12 + 4  # after the header and IFD0's one entry
    data_at = exif_ifd_at + 2 + 12 + 4
    ifd0 = struct.pack(">HHHII", 1, EXIF_IFD, _LONG, 1, exif_ifd_at) + _NO_NEXT_IFD
    exif_ifd = struct.pack(">HHHII", 1, USER_COMMENT, _UNDEFINED, len(comment), data_at)
    return (
        b"Exif\0\0" + b"MM\0\x2a" + struct.pack(">I", 8) + ifd0 + exif_ifd + _NO_NEXT_IFD + comment
    )


def _for_format(image: Image.Image, fmt: str) -> Image.Image:
    """A mode the format can save: RGB or RGBA (L, LA, P and 1 kept where they can be)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if fmt == "jpeg":
        if has_alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            flat.info = dict(image.info)
            return flat
        return image if image.mode in ("RGB", "L") else _convert(image, "RGB")
    if fmt == "png" and image.mode in ("RGB", "RGBA", "L", "LA", "P", "1"):
        return image
    if fmt == "webp" and image.mode in ("RGB", "RGBA"):
        return image
    return _convert(image, "RGBA" if has_alpha else "RGB")


def _convert(image: Image.Image, mode: str) -> Image.Image:
    converted = image.convert(mode)
    converted.info = dict(image.info)  # the ICC profile travels with the pixels
    return converted


def _utf8_safe(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
