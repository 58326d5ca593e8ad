"""Images a recipe starts from that exist nowhere else: a mask painted in the app, a
picture pasted from the clipboard. They are kept in the gallery folder, under
`inputs/`, named by their content, so that a recipe's ImageRef (path + sha256) stays
true for as long as the gallery does, and the same picture kept twice is one file.

`inputs/` is not part of the gallery grid: index_rows.scan_pngs skips it.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from engine.api.errors import BadInput
from engine.api.parts import ImageRef
from engine.atomic import write_bytes_atomic
from engine.store.errors import save_failed

INPUTS_FOLDER = "inputs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAME_DIGITS = 16  # 64 bits of the sha256: no two inputs of one gallery share a name


def input_path(root: Path, sha256: str) -> Path:
    """Where the input whose bytes hash to `sha256` is kept under the gallery `root`."""
    return Path(root) / INPUTS_FOLDER / f"{sha256[:NAME_DIGITS]}.png"


def keep_input(root: Path, data: bytes) -> ImageRef:
    """Write the PNG `data` into `root`/inputs/ (whole or not at all) and return its
    reference: the absolute path and the sha256 of exactly those bytes.

    BadInput when `data` is not a PNG; StoreError (a sentence) when the folder cannot
    take it, a full disk included; no part of the file is left behind then.
    """
    _check_png(data)
    sha256 = hashlib.sha256(data).hexdigest()
    path = input_path(Path(root).expanduser().absolute(), sha256)
    if _holds(path, data):
        return ImageRef(str(path), sha256)  # kept before: the same bytes, the same file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise save_failed(path, exc) from exc
    return ImageRef(str(path), sha256)


def _check_png(data: bytes) -> None:
    """A PNG that decodes: a recipe must never point at a file no reader can open."""
    if not isinstance(data, bytes | bytearray) or not data.startswith(PNG_SIGNATURE):
        raise BadInput("The image to keep is not a PNG: save masks and pasted images as PNG.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadInput(f"The image to keep is a damaged PNG ({exc}); nothing was saved.") from None


def _holds(path: Path, data: bytes) -> bool:
    """Whether `path` already holds exactly `data` (a damaged copy is written again)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False
