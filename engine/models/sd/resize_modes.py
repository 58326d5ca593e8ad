"""A1111's three resize modes for a source that is not the output size (its
modules/images.py resize_image, with its default Lanczos resampling).

- just resize: stretched to the size, the aspect ratio is not kept;
- crop and resize: scaled to cover the size, then centre-cropped;
- resize and fill: scaled to fit inside, the empty bands filled by stretching the
  image's outermost row or column of pixels across them (A1111's way; no new content).
"""

from __future__ import annotations

from PIL import Image

_LANCZOS = Image.Resampling.LANCZOS


def fit(image: Image.Image, size: tuple[int, int], mode: str) -> tuple[Image.Image, str]:
    """The image at `size` as `mode` says, and a few words of what was done."""
    if mode == "crop-and-resize":
        return _crop_and_resize(image, *size), "scaled to cover it and centre-cropped"
    if mode == "resize-and-fill":
        return _resize_and_fill(image, *size), "scaled to fit, the bands filled from its edges"
    return image.resize(size, _LANCZOS), "stretched to it (just resize)"


def _crop_and_resize(image: Image.Image, width: int, height: int) -> Image.Image:
    ratio, source_ratio = width / height, image.width / image.height
    scaled_w = width if ratio > source_ratio else image.width * height // image.height
    scaled_h = height if ratio <= source_ratio else image.height * width // image.width
    scaled = image.resize((scaled_w, scaled_h), _LANCZOS)
    out = Image.new("RGB", (width, height))
    out.paste(scaled, box=(width // 2 - scaled_w // 2, height // 2 - scaled_h // 2))
    return out


def _resize_and_fill(image: Image.Image, width: int, height: int) -> Image.Image:
    ratio, source_ratio = width / height, image.width / image.height
    scaled_w = width if ratio < source_ratio else image.width * height // image.height
    scaled_h = height if ratio >= source_ratio else image.height * width // image.width
    scaled = image.resize((scaled_w, scaled_h), _LANCZOS)
    out = Image.new("RGB", (width, height))
    out.paste(scaled, box=(width // 2 - scaled_w // 2, height // 2 - scaled_h // 2))
    if ratio < source_ratio:  # bands above and below
        band = height // 2 - scaled_h // 2
        if band > 0:
            top = scaled.resize((width, band), box=(0, 0, width, 0))
            bottom = scaled.resize((width, band), box=(0, scaled.height, width, scaled.height))
            out.paste(top, box=(0, 0))
            out.paste(bottom, box=(0, band + scaled_h))
    elif ratio > source_ratio:  # bands left and right
        band = width // 2 - scaled_w // 2
        if band > 0:
            left = scaled.resize((band, height), box=(0, 0, 0, height))
            right = scaled.resize((band, height), box=(scaled.width, 0, scaled.width, height))
            out.paste(left, box=(0, 0))
            out.paste(right, box=(band + scaled_w, 0))
    return out
