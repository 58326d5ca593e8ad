"""The source image of image to image, and an inpainting mask: read, checked and fitted
to the output size. The one reader of a job's input pictures.

A missing file, a file changed since the recipe was made (its sha256), a file over the
size limit and an unreadable one are each a sentence; nothing is written. What was done
to the picture on the way (grey or CMYK converted, an animation's first frame, a
resize) becomes a note the user sees in the result's info.

A mask is grey by luminance (Pillow's "L": white repaints, grey partly). A mask with
transparency is read as painted on a layer: where its colour is one and the same
everywhere (strokes that live only in the alpha, as an editor exports them) the alpha
is the mask; otherwise transparent parts count as black. It is fitted exactly as the
source is (a mask of the source file's size stays aligned in every resize mode); a mask
of another size is first stretched to the source's, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.api import limits
from engine.api.errors import BadInput, UnreadableImage
from engine.api.parts import ImageRef, Size
from engine.models.common.source_image import SourceImage, read_source
from engine.models.sd.resize_modes import fit


@dataclass(frozen=True)
class FittedSource:
    image: Image.Image  # RGB, exactly the output size
    notes: tuple[str, ...]
    info: dict[str, Any]  # path, sha256 and the size the file had


@dataclass(frozen=True)
class FittedMask:
    pixels: np.ndarray  # H x W uint8 at the output size: white repaints, grey partly
    notes: tuple[str, ...]
    info: dict[str, Any]  # path, sha256 and the size the file had


def load_source(ref: ImageRef, size: Size, resize_mode: str) -> FittedSource:
    path = Path(ref.path).expanduser()
    notes = list(_check_header(path))
    source = _read_checked(ref, path, "image")
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


def load_picture(ref: ImageRef, what: str) -> Image.Image:
    """A picture a part reads as it is (an IP-Adapter's): RGB, at its own size."""
    path = Path(ref.path).expanduser()
    _check_header(path, f"an {what}" if what[0] in "AEIOU" else f"a {what}")
    return Image.fromarray(_read_checked(ref, path, what).rgb)


def load_mask(ref: ImageRef, source: FittedSource, size: Size, resize_mode: str) -> FittedMask:
    """The mask at the output size, fitted as `source` was (its file's size in
    `source.info`), with a note for each thing the user should know."""
    path = Path(ref.path).expanduser()
    notes = [f"the mask: {note}" for note in _check_header(path, "a mask")]
    read = _read_checked(ref, path, "mask")
    grey, how = _mask_grey(read)
    if how:
        notes.append(how)
    image = Image.fromarray(grey, "L")
    width, height = source.info["size"]
    if image.size != (width, height):
        notes.append(
            f"the mask is {read.width}×{read.height} and the source {width}×{height}: "
            "the mask was stretched to the source's size"
        )
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    if image.size != (size.width, size.height):  # the source's resize note says how
        image = fit(image.convert("RGB"), (size.width, size.height), resize_mode)[0]
    pixels = np.asarray(image.convert("L"))
    info = {"path": ref.path, "sha256": read.sha256, "size": [read.width, read.height]}
    return FittedMask(pixels, tuple(notes), info)


def _mask_grey(read: SourceImage) -> tuple[np.ndarray, str]:
    """The mask's grey (H x W uint8) and, when its transparency decided it, how."""
    luminance = np.asarray(Image.fromarray(read.rgb).convert("L"))
    if read.alpha is None:
        return luminance, ""
    flat = read.rgb.reshape(-1, 3)
    if (flat == flat[0]).all():
        return read.alpha, "the mask's colour is the same everywhere: its opaque part is the mask"
    weighted = luminance.astype(np.uint32) * read.alpha // 255
    return weighted.astype(np.uint8), "the mask's transparent parts count as black"


def _read_checked(ref: ImageRef, path: Path, what: str) -> SourceImage:
    """The file's pixels; a sentence when they are not those the recipe was made from."""
    read = read_source(path)
    if ref.sha256 and ref.sha256 != read.sha256:
        raise BadInput(
            f"{path.name} has changed since this recipe was made (its contents differ), "
            f"so the result would not be the same image. Choose the {what} again."
        )
    return read


def _check_header(path: Path, what: str = "a source image") -> tuple[str, ...]:
    """Refuse a source over the limit from its header alone; name an animation. A file
    whose header cannot be read is left to read_source, which says why."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            animated = getattr(image, "n_frames", 1) > 1
    except Image.DecompressionBombError:
        raise _too_large(path, None, what) from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return ()
    if width * height > limits.SD_SOURCE_MAX_PIXELS:
        raise _too_large(path, (width, height), what)
    return ("an animated image: its first frame is used",) if animated else ()


def _too_large(path: Path, size: tuple[int, int] | None, what: str) -> UnreadableImage:
    limit = limits.SD_SOURCE_MAX_PIXELS
    claimed = f"{size[0]}×{size[1]} pixels" if size else "far more pixels than that"
    return UnreadableImage(
        f"{path.name} is {claimed}; {what} may have at most {limit / 1e6:.1f} "
        "megapixels (it is resized to the output size anyway). Make it smaller first, "
        "e.g. with Upscale's Lanczos at a factor below 1 or an image editor."
    )
