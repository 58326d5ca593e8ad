"""A picture's stars (0-5) and boards, as kept in its PNG (issue 24).

They live in one tEXt chunk, `latentstudio-library`, holding ASCII JSON
`{"stars": N, "boards": [...]}`, so `gallery --rebuild` and a fresh index keep them.
Writing copies every other chunk byte for byte and only replaces (or inserts, before the
first IDAT) that one chunk: the pixels are never decoded or re-encoded. The new file is
written beside the old and renamed over it (engine.atomic), so a kill mid-write leaves
the original whole.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.api.errors import BadInput
from engine.atomic import write_bytes_atomic

MARKS_KEY = "latentstudio-library"
MAX_STARS = 5
MAX_BOARD_NAME = 100
MAX_BOARDS = 200
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEYWORD = MARKS_KEY.encode("latin-1")


@dataclass(frozen=True)
class Marks:
    stars: int = 0
    boards: tuple[str, ...] = ()  # sorted, unique

    def as_json(self) -> str:
        # ensure_ascii: a tEXt chunk is latin-1; escaped JSON fits in any case.
        return json.dumps({"stars": self.stars, "boards": list(self.boards)}, ensure_ascii=True)


def check_stars(stars: object) -> int:
    if not isinstance(stars, int) or isinstance(stars, bool) or not 0 <= stars <= MAX_STARS:
        raise BadInput(f"Stars must be a whole number from 0 to {MAX_STARS}, not {stars!r}.")
    return stars


def board_name(name: object) -> str:
    """A board's name, trimmed; BadInput when it is empty, too long or has control codes."""
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise BadInput("A board needs a name: give it one (letters, digits, spaces).")
    if len(text) > MAX_BOARD_NAME or any(ord(c) < 32 or c == "\x7f" for c in text):
        raise BadInput(
            f"The board name {text[:40]!r} is too long or holds control characters; "
            f"use up to {MAX_BOARD_NAME} printable characters."
        )
    return text


def boards_of(names: Iterable[str]) -> tuple[str, ...]:
    """Board names, sorted, each once (case-insensitively, as the index compares them)."""
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(board_name(name).casefold(), board_name(name))
    return tuple(sorted(unique.values(), key=str.casefold))


def marks_from_text(text: str | None) -> Marks | None:
    """The marks a chunk holds; None when there is none or it is damaged (never raises)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        stars = check_stars(data.get("stars", 0))
        boards = boards_of(data.get("boards", []))
    except (ValueError, AttributeError, TypeError, BadInput, RecursionError):
        return None
    if len(boards) > MAX_BOARDS:
        return None
    return Marks(stars, boards)


def write_marks(path: Path, marks: Marks) -> None:
    """Put `marks` into the PNG at `path`, atomically, leaving every other chunk as it is.

    Raises ValueError if the file is not a PNG, OSError if it cannot be read or replaced
    (the original is then untouched).
    """
    data = Path(path).read_bytes()
    write_bytes_atomic(Path(path), with_marks(data, marks))


def with_marks(data: bytes, marks: Marks) -> bytes:
    """The PNG bytes with its marks chunk replaced (or inserted before the first IDAT)."""
    chunks = list(_chunks(data))
    new = _chunk(b"tEXt", _KEYWORD + b"\0" + marks.as_json().encode("ascii"))
    out = [_SIGNATURE]
    placed = False
    for kind, raw, body in chunks:
        if kind == b"tEXt" and body.split(b"\0", 1)[0] == _KEYWORD:
            continue  # the old marks: replaced below
        if kind == b"IDAT" and not placed:
            out.append(new)
            placed = True
        out.append(raw)
    if not placed:
        raise ValueError("the PNG has no image data (IDAT chunk)")
    return b"".join(out)


def _chunks(data: bytes):
    """(type, the whole chunk's bytes, its body) for each chunk, up to IEND."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file (wrong signature)")
    at = len(_SIGNATURE)
    while at < len(data):
        if at + 8 > len(data):
            raise ValueError("the PNG is truncated")
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(data):
            raise ValueError("the PNG is truncated")
        yield kind, data[at:end], data[at + 8 : at + 8 + length]
        at = end
        if kind == b"IEND":
            return
    raise ValueError("the PNG has no end (IEND chunk)")


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
