"""The names exported pictures get: the source's own name, made safe for any disk the
target folder may be on (a USB stick's FAT, a Windows share), and never one already
taken: "fox.png", then "fox (2).png", "fox (3).png"...
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MAX_NAME_BYTES = 200  # of the stem in UTF-8; every common file system takes 255 for a name
MAX_NUMBER = 100_000  # "fox (100000).png": past this the folder is not a real one
# Characters Windows and FAT refuse in a name, and the path separators.
_REFUSED = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
_RESERVED |= {f"lpt{i}" for i in range(10)}


def safe_stem(stem: str) -> str:
    """A name part every file system takes; "picture" when nothing of it is left."""
    # A name undecodable on this system comes as lone surrogates: they cannot be
    # written to another disk, so they become "_" like any refused character.
    text = stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = unicodedata.normalize("NFC", text).replace("\ufffd", "_")
    text = _REFUSED.sub("_", text)
    text = "".join("_" if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text)
    text = text.strip(" .")  # Windows drops trailing dots and spaces; leading dots hide
    text = _cut(text, MAX_NAME_BYTES).strip(" .")
    if not text or text.split(".")[0].lower() in _RESERVED:
        text = f"picture {text}".strip() if text else "picture"
    return text


def candidates(stem: str, suffix: str) -> Iterator[str]:
    """The names to try, in order: "stem.ext", "stem (2).ext", ..."""
    yield f"{stem}{suffix}"
    for number in range(2, MAX_NUMBER + 1):
        yield f"{stem} ({number}){suffix}"


def _cut(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, never splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")
