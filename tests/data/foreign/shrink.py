"""How the large samples here were made small: the pixels go, the metadata stays.

A PNG keeps every text chunk (tEXt, zTXt, iTXt) and eXIf byte for byte, in its place
among the chunks, around a 1x1 picture (a new IHDR and IDAT). A JPEG or WebP is
re-saved 1x1 by Pillow with the original EXIF and XMP payloads passed through, which
Pillow writes unchanged (`python shrink.py check` compares them). Run once by hand:
    python tests/data/foreign/shrink.py big.png small.png
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from PIL import Image

KEPT = (b"tEXt", b"zTXt", b"iTXt", b"eXIf")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def shrink_png(data: bytes) -> bytes:
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))]
    pixels_written = False
    for kind, body in png_chunks(data):
        if kind in KEPT:
            out.append(_chunk(kind, body))
        elif kind == b"IDAT" and not pixels_written:
            out.append(_chunk(b"IDAT", zlib.compress(b"\0\x80\x80\x80")))
            pixels_written = True
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def shrink_other(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        exif, xmp = image.info.get("exif"), image.info.get("xmp")
        small = Image.new("RGB", (1, 1), (128, 128, 128))
        extra = {k: v for k, v in (("exif", exif), ("xmp", xmp)) if v}
        small.save(target, format=image.format, **extra)
    with Image.open(target) as image:  # the payloads must come back unchanged
        assert image.info.get("exif") == exif and image.info.get("xmp") == xmp


def main(source: Path, target: Path) -> None:
    data = source.read_bytes()
    if data.startswith(b"\x89PNG"):
        small = shrink_png(data)
        kept = [c for c in png_chunks(data) if c[0] in KEPT]
        assert kept == [c for c in png_chunks(small) if c[0] in KEPT]
        target.write_bytes(small)
    else:
        shrink_other(source, target)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
