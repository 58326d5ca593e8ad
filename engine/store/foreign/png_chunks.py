"""The text chunks of a PNG (tEXt, zTXt, iTXt), read chunk by chunk with caps.

Pillow reads them too, but one oversized or broken chunk makes it refuse the whole
file, and it drops an iTXt that is not UTF-8 without a word. Here each chunk is judged
on its own: one over MAX_CHUNK bytes, one that inflates past MAX_TEXT (a zlib bomb),
or one that is not the text its type promises is skipped with a note, and the rest of
the picture is still read. Pixel data is skipped, never decoded.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNK = 8 * 1024 * 1024  # bytes of one text chunk as stored
MAX_TEXT = 8 * 1024 * 1024  # bytes of one text once inflated (a ComfyUI workflow: < 1 MB)
MAX_TOTAL = 32 * 1024 * 1024  # bytes of text in one picture
MAX_CHUNKS = 10_000  # chunks walked before giving up (a real PNG has tens)
TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")


@dataclass
class PngText:
    texts: dict[str, str] = field(default_factory=dict)
    size: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)


def read_png_text(stream: BinaryIO) -> PngText:
    """`stream` is positioned after the signature. Never raises on bad data."""
    found = PngText()
    total = 0
    for _ in range(MAX_CHUNKS):
        head = stream.read(8)
        if len(head) < 8:
            return found  # a file cut short: what came before still counts
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IHDR" and length >= 8:
            size = stream.read(8)
            if len(size) == 8:
                found.size = struct.unpack(">II", size)
            stream.seek(length - 8 + 4, 1)
        elif kind == b"IEND":
            return found
        elif kind not in TEXT_TYPES or length > MAX_CHUNK or total + length > MAX_TOTAL:
            if kind in TEXT_TYPES:
                name = kind.decode()
                found.notes.append(f"A {name} chunk of {length:,} bytes is too large to read.")
            stream.seek(length + 4, 1)  # skip data and CRC without reading them
        else:
            data, crc = stream.read(length), stream.read(4)
            if crc != struct.pack(">I", zlib.crc32(kind + data)):
                name = kind.decode()
                found.notes.append(f"A {name} chunk is damaged (its checksum is wrong): not read.")
                continue
            total += max(length, _add(found, kind, data))
    found.notes.append(f"The file has over {MAX_CHUNKS:,} chunks: the rest were not read.")
    return found


def _add(found: PngText, kind: bytes, data: bytes) -> int:
    """Adds one chunk's text; returns its length, so inflated text counts to MAX_TOTAL."""
    keyword, sep, rest = data.partition(b"\0")
    name = keyword.decode("latin-1")
    if not sep or not 1 <= len(keyword) <= 79:
        found.notes.append(f"A {kind.decode()} chunk without a valid keyword was skipped.")
        return 0
    try:
        text = _decode(kind, rest)
    except _Unreadable as exc:
        found.notes.append(f"The {kind.decode()} chunk {name!r} {exc}: not read.")
        return 0
    found.texts.setdefault(name, text)  # a repeated keyword: the first wins
    return len(text)


class _Unreadable(ValueError):
    pass


def _decode(kind: bytes, rest: bytes) -> str:
    if kind == b"tEXt":
        return rest.decode("latin-1")  # the PNG spec's charset: every byte is valid
    if kind == b"zTXt":
        if not rest or rest[0] != 0:
            raise _Unreadable("uses an unknown compression")
        return _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2:
        raise _Unreadable("is cut short")
    compressed, method, rest = rest[0], rest[1], rest[2:]
    _language, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    if compressed:
        if method != 0:
            raise _Unreadable("uses an unknown compression")
        text = _inflate(text)
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable("is not valid UTF-8") from None


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, MAX_TEXT + 1)
    except zlib.error:
        raise _Unreadable("is damaged (it does not inflate)") from None
    if len(text) > MAX_TEXT or inflater.unconsumed_tail:
        raise _Unreadable(f"inflates to over {MAX_TEXT // (1024 * 1024)} MiB")
    return text
