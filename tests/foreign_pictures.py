"""Pictures as other tools write them, built with Pillow (and by hand where a tool or a
hostile file writes chunks Pillow would not)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin

SIGNATURE_AND_IHDR = 8 + 25  # a PNG's signature and its IHDR chunk, in bytes


def png(path: Path, texts: dict[str, str] | None = None, how: str = "tEXt") -> Path:
    """A 16x8 PNG whose texts are written as tEXt, zTXt (compressed latin-1) or iTXt."""
    info = PngImagePlugin.PngInfo()
    for key, value in (texts or {}).items():
        if how == "iTXt":
            info.add_itxt(key, value, zip=False)
        elif how == "iTXt-zip":
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value, zip=how == "zTXt")
    Image.new("RGB", (16, 8), "gray").save(path, "PNG", pnginfo=info)
    return path


def chunk(kind: bytes, data: bytes, length: int | None = None) -> bytes:
    size = len(data) if length is None else length
    return struct.pack(">I", size) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunks(path: Path, *chunks: bytes, texts: dict[str, str] | None = None) -> Path:
    """A PNG (with `texts` as tEXt) and raw `chunks` inserted right after its IHDR."""
    png(path, texts)
    data = path.read_bytes()
    path.write_bytes(data[:SIGNATURE_AND_IHDR] + b"".join(chunks) + data[SIGNATURE_AND_IHDR:])
    return path


def with_exif(path: Path, exif: Image.Exif, fmt: str) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "gray").save(buffer, fmt, exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def piexif_user_comment(text: str) -> Image.Exif:
    """As A1111 writes a JPEG: piexif.helper.UserComment.dump(text, encoding="unicode")
    in the Exif IFD: b"UNICODE\\0" and UTF-16 big-endian."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    return exif
