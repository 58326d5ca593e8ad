"""The texts other tools hide in a JPEG's or WebP's EXIF and XMP, as named texts.

- UserComment (0x9286): A1111 and Forge (through piexif) write it in the Exif IFD with
  an 8-byte charset header: "UNICODE\\0" then UTF-16 (big-endian from piexif's
  helper.UserComment.dump; SwarmUI's ImageSharp may differ, so the byte order is found
  from the text), "ASCII\\0\\0\\0" or "JIS". Fooocus puts it in the first IFD as plain
  ASCII, with its scheme in MakerNote (0x927C). It becomes `parameters`, the name the
  same text has in a PNG.
- ComfyUI's WebP: Model (0x0110) holds "prompt:<json>", Make (0x010F) and the tags
  below it "workflow:<json>" (comfy_api/latest/_ui.py).
- XMP (Draw Things): kept whole as `XML:com.adobe.xmp`, the name it has in a PNG.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

USER_COMMENT = 0x9286
MAKER_NOTE = 0x927C
EXIF_IFD = 0x8769
MAKE, MODEL = 0x010F, 0x0110
XMP_KEY = "XML:com.adobe.xmp"
MAX_EXIF = 4 * 1024 * 1024  # bytes; a JPEG segment holds 64 KiB, a WebP chunk more
_CHARSETS = {
    b"ASCII\0\0\0": "ascii",
    b"UNICODE\0": "utf-16",
    b"JIS\0\0\0\0\0": "shift_jis",
    b"\0" * 8: "undefined",
}


def exif_texts(image: Image.Image, notes: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    raw_exif = image.info.get("exif")
    if isinstance(raw_exif, bytes) and len(raw_exif) > MAX_EXIF:
        notes.append(f"The EXIF block of {len(raw_exif):,} bytes is too large to read.")
    elif raw_exif:
        try:
            _from_exif(image.getexif(), texts, notes)
        except Exception:  # Pillow meets damaged EXIF with many types (struct.error, ...)
            notes.append("The EXIF block is damaged: not read.")
    xmp = image.info.get("xmp")
    if isinstance(xmp, bytes) and len(xmp) <= MAX_EXIF:
        texts[XMP_KEY] = xmp.decode("utf-8", "replace")
    return texts


def _from_exif(exif: Image.Exif, texts: dict[str, str], notes: list[str]) -> None:
    inner = exif.get_ifd(EXIF_IFD)
    comment = inner.get(USER_COMMENT, exif.get(USER_COMMENT))
    if comment is not None:
        text = user_comment(comment)
        if text is None:
            notes.append("The EXIF UserComment is in a charset that cannot be read.")
        elif text:
            texts["parameters"] = text
    scheme = inner.get(MAKER_NOTE, exif.get(MAKER_NOTE))
    if isinstance(scheme, str) and scheme in ("fooocus", "a1111"):
        texts["fooocus_scheme"] = scheme
    for tag in range(MODEL, MAKE - 16, -1):  # ComfyUI: "key:json" from Model downwards
        value = exif.get(tag)
        if isinstance(value, str) and ":" in value:
            key, _, rest = value.partition(":")
            if key in ("prompt", "workflow") and rest.lstrip().startswith("{"):
                texts.setdefault(key, rest)


def user_comment(value: Any) -> str | None:
    """The text of a UserComment: Pillow gives a str for an ASCII-typed tag, bytes for
    the standard UNDEFINED one (charset header + text). None: a charset we cannot read."""
    if isinstance(value, str):
        return value.rstrip("\0")
    if not isinstance(value, bytes):
        return None
    header, body = value[:8], value[8:]
    charset = _CHARSETS.get(header)
    if charset is None:  # no header at all: some writers put the bare text here
        return None if header.startswith(b"UNICODE") else _plain(value)
    if charset == "utf-16":
        return _utf16(body)
    if charset == "shift_jis":
        return body.decode("shift_jis", "replace").rstrip("\0")
    return _plain(body)


def _plain(body: bytes) -> str:
    # "ASCII" in practice holds UTF-8 more often than not; a stray byte is shown, not fatal.
    return body.decode("utf-8", "replace").rstrip("\0")


def _utf16(body: bytes) -> str | None:
    if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
        encoding = "utf-16"  # a byte-order mark says which
    else:
        # Mostly-ASCII text: the zero byte of each pair comes first in big-endian.
        even, odd = body[0::2].count(0), body[1::2].count(0)
        encoding = "utf-16-be" if even >= odd else "utf-16-le"
    try:
        return body.decode(encoding).rstrip("\0")
    except UnicodeDecodeError:
        return None
