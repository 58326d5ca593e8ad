"""The source image of image to image: read, checked and fitted to the output size.

A missing file, a file changed since the recipe was made (its sha256), a file over the
size limit and an unreadable one are each a sentence; nothing is written. What was done
to the picture on the way (grey or CMYK converted, an animation's first frame, a
resize) becomes a note the user sees in the result's info.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from engine.api import limits
from engine.api.errors import BadInput, UnreadableImage
from engine.api.parts import ImageRef, Size
from engine.models.common.source_image import read_source
from engine.models.sd.resize_modes import fit


@dataclass(frozen=True)
class FittedSource:
    image: Image.Image  # RGB, exactly the output size
    notes: tuple[str, ...]
    info: dict[str, Any]  # path, sha256 and the size the file had


def load_source(ref: ImageRef, size: Size, resize_mode: str) -> FittedSource:
    path = Path(ref.path).expanduser()
    notes = list(_check_header(path))
    source = read_source(path)
    if ref.sha256 and ref.sha256 != source.sha256:
        raise BadInput(
            f"{path.name} has changed since this recipe was made (its contents differ), "
            "so the result would not be the same image. Choose the image again."
        )
    notes += source.notes
    if source.alpha is not None:
        notes.append("its transparency was dropped (the model draws opaque pictures)")
    image = Image.fromarray(source.rgb)
    target = (size.width, size.height)
    if image.size != target:
        image, how = fit(image, target, resize_mode)
        notes.append(f"resized from {source.width}×{source.height} to {size}: {how}")
    info = {"path": ref.path, "sha256": source.sha256, "size": [source.width, source.height]}
    return FittedSource(image, tuple(notes), info)


def _check_header(path: Path) -> tuple[str, ...]:
    """Refuse a source over the limit from its header alone; name an animation. A file
    whose header cannot be read is left to read_source, which says why."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            animated = getattr(image, "n_frames", 1) > 1
    except Image.DecompressionBombError:
        raise _too_large(path, None) from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return ()
    if width * height > limits.SD_SOURCE_MAX_PIXELS:
        raise _too_large(path, (width, height))
    return ("an animated image: its first frame is used",) if animated else ()


def _too_large(path: Path, size: tuple[int, int] | None) -> UnreadableImage:
    limit = limits.SD_SOURCE_MAX_PIXELS
    claimed = f"{size[0]}×{size[1]} pixels" if size else "far more pixels than that"
    return UnreadableImage(
        f"{path.name} is {claimed}; a source image may have at most {limit / 1e6:.1f} "
        "megapixels (it is resized to the output size anyway). Make it smaller first, "
        "e.g. with Upscale's Lanczos at a factor below 1 or an image editor."
    )
