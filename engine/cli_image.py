"""`generate`'s image parts on the command line (issue 21): --image (image to image),
--mask (inpainting), --outpaint and --hires-scale, with A1111's option names.

Torch-free, like engine.commands. The files are named by absolute path and sha256 in
the request, so its recipe says exactly which pixels it started from. A file that is
not there is left for engine.local_checks to name, in the sentence the app uses too.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.api.errors import BadInput, UnreadableImage
from engine.api.image_parts import (
    INPAINT_AREAS,
    LATENT_UPSCALER,
    MASKED_CONTENTS,
    OUTPAINT_FILLS,
    RESIZE_MODES,
    Hires,
    Mask,
    Outpaint,
    SourceImage,
)
from engine.api.kinds import Family
from engine.api.limits import nearest_multiple
from engine.api.parts import ImageRef, ModelRef, Size

DEFAULT_SIDE = 512
# Options that mean nothing without another: (the option, its dest, what it needs).
_NEEDS = (
    ("--strength", "strength", "image"),
    ("--resize-mode", "resize_mode", "image"),
    ("--mask", "mask", "image"),
    ("--outpaint", "outpaint", "image"),
    ("--outpaint-fill", "outpaint_fill", "outpaint"),
    ("--outpaint-overlap", "outpaint_overlap", "outpaint"),
    ("--mask-blur", "mask_blur", "mask"),
    ("--masked-content", "masked_content", "mask"),
    ("--inpaint-area", "inpaint_area", "mask"),
    ("--padding", "padding", "mask"),
    ("--mask-grow", "mask_grow", "mask"),
    ("--hires-steps", "hires_steps", "hires_scale"),
    ("--hires-strength", "hires_strength", "hires_scale"),
    ("--hires-upscaler", "hires_upscaler", "hires_scale"),
)
_WHY = {
    "image": "--image: it applies to the image the job starts from",
    "mask": "--mask: it says how the masked part is repainted",
    "outpaint": "--outpaint: it says how the added area is drawn",
    "hires_scale": "--hires-scale: it applies to the hires pass, which that turns on",
}


@dataclass(frozen=True)
class ImageParts:
    """What the image options add to a request, and the size the output will have."""

    size: Size
    source: SourceImage | None = None
    mask: Mask | None = None
    outpaint: Outpaint | None = None
    hires: Hires | None = None


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """The image options, in four groups; every default None, so "given" can be told."""
    image = parser.add_argument_group("Image to image")
    image.add_argument(
        "--image",
        metavar="PATH",
        help="start from this image; without --width/--height the output has its size, "
        "rounded to a multiple of 8",
    )
    image.add_argument(
        "--strength",
        type=float,
        help="denoising strength, 0-1: 0 keeps the image, 1 draws over it (default: 0.75)",
    )
    image.add_argument(
        "--resize-mode",
        choices=RESIZE_MODES,
        help="when the image is not the output size (A1111's; default: just-resize)",
    )
    inpaint = parser.add_argument_group("Inpaint (with --image)")
    inpaint.add_argument(
        "--mask", metavar="PATH", help="repaint where this image is white (grey: partly)"
    )
    inpaint.add_argument(
        "--mask-blur", type=int, help="soften the mask's edge by N pixels (default: 4)"
    )
    inpaint.add_argument(
        "--masked-content",
        choices=MASKED_CONTENTS,
        help="what the masked part starts from (default: original)",
    )
    inpaint.add_argument(
        "--inpaint-area",
        choices=INPAINT_AREAS,
        help="whole: the whole picture; masked: only the masked part, drawn at the output "
        "size and pasted back (default: whole)",
    )
    inpaint.add_argument(
        "--padding",
        type=int,
        help="pixels around the masked part with --inpaint-area masked (default: 32)",
    )
    inpaint.add_argument(
        "--mask-grow", type=int, help="grow (or, negative, shrink) the mask by N pixels first"
    )
    outpaint = parser.add_argument_group("Outpaint (with --image)")
    outpaint.add_argument(
        "--outpaint",
        metavar="L,T,R,B",
        help="extend the image by so many pixels on the left, top, right and bottom; "
        "with --width/--height the source is fitted to that size less the sides",
    )
    outpaint.add_argument(
        "--outpaint-fill",
        choices=OUTPAINT_FILLS,
        help="what the added area starts from before it is inpainted: its edge pixels "
        "stretched, the image mirrored and blurred, or noise (default: edge)",
    )
    outpaint.add_argument(
        "--outpaint-overlap",
        type=int,
        metavar="N",
        help="repaint N pixels into the original too, fading out, for a seamless join "
        "(the feather; default: 32)",
    )
    hires = parser.add_argument_group("Hires fix (text to image)")
    hires.add_argument(
        "--hires-scale",
        type=float,
        help="draw again this many times larger (1-4): upscale, then image to image",
    )
    hires.add_argument(
        "--hires-steps", type=int, help="steps of the second pass (default: as the first)"
    )
    hires.add_argument(
        "--hires-strength", type=float, help="denoising strength of the second pass (default: 0.5)"
    )
    hires.add_argument(
        "--hires-upscaler",
        metavar="NAME",
        help="latent, lanczos, bicubic, a bundled upscaler or an upscaler file (default: lanczos)",
    )


def image_parts(args: argparse.Namespace) -> ImageParts:
    """The parts the options ask for; BadInput, with a sentence, for an option given
    without the one it needs, or an --outpaint that is not four numbers."""
    _check_needs(args)
    source = _source(args) if args.image else None
    outpaint = _outpaint(args) if args.outpaint else None
    return ImageParts(
        size=_size(args, outpaint),
        source=source,
        mask=_mask(args) if args.mask else None,
        outpaint=outpaint,
        hires=_hires(args) if args.hires_scale is not None else None,
    )


def _check_needs(args: argparse.Namespace) -> None:
    for option, dest, needed in _NEEDS:
        if getattr(args, dest) is not None and not getattr(args, needed):
            raise BadInput(f"{option} needs {_WHY[needed]}.")


def _source(args: argparse.Namespace) -> SourceImage:
    return SourceImage(
        image_ref(args.image),
        0.75 if args.strength is None else args.strength,
        args.resize_mode or "just-resize",
    )


def _mask(args: argparse.Namespace) -> Mask:
    given = {
        "blur": args.mask_blur,
        "content": args.masked_content,
        "area": args.inpaint_area,
        "padding": args.padding,
        "grow": args.mask_grow,
    }
    return Mask(image_ref(args.mask), **{k: v for k, v in given.items() if v is not None})


def _hires(args: argparse.Namespace) -> Hires:
    given = {"steps": args.hires_steps, "denoise": args.hires_strength}
    upscaler = upscaler_id(args.hires_upscaler or "lanczos")
    return Hires(
        scale=args.hires_scale,
        upscaler=ModelRef(Family.UPSCALE, upscaler),
        **{k: v for k, v in given.items() if v is not None},
    )


def upscaler_id(name: str) -> str:
    """The resamplers and "latent" by name in any case; an existing file, absolute."""
    if name.lower() in (LATENT_UPSCALER, "lanczos", "bicubic"):
        return name.lower()
    path = Path(name).expanduser()
    return str(path.absolute()) if path.exists() else name


def _outpaint(args: argparse.Namespace) -> Outpaint:
    text = args.outpaint
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise BadInput(
            f"--outpaint {text!r} is not four whole numbers: give the pixels to add on the "
            "left, top, right and bottom, e.g. --outpaint 0,0,256,0."
        )
    left, top, right, bottom = (int(p) for p in parts)
    given = {"fill": args.outpaint_fill, "feather": args.outpaint_overlap}
    return Outpaint(left, top, right, bottom, **{k: v for k, v in given.items() if v is not None})


def image_ref(path_text: str) -> ImageRef:
    """The file by absolute path and the sha256 of its bytes ("" when it is not there:
    local_checks names it)."""
    path = Path(path_text).expanduser().absolute()
    return ImageRef(str(path), file_sha256(path) if path.is_file() else "")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- the output size


def _size(args: argparse.Namespace, outpaint: Outpaint | None) -> Size:
    """--width/--height when given; else the source's (plus any outpaint) rounded to a
    multiple of 8, with a note; else 512."""
    source = _source_size(args.image) if args.image else None
    if source is None:
        return Size(args.width or DEFAULT_SIDE, args.height or DEFAULT_SIDE)
    width, height = source
    if outpaint is not None:
        width += outpaint.left + outpaint.right
        height += outpaint.top + outpaint.bottom
    size = Size(args.width or nearest_multiple(width), args.height or nearest_multiple(height))
    if args.width is None or args.height is None:
        print(f"note: {_size_note(size, (width, height), outpaint)}", file=sys.stderr)
    return size


def _size_note(size: Size, wanted: tuple[int, int], outpaint: Outpaint | None) -> str:
    whose = "the source's with the outpaint" if outpaint is not None else "the source's"
    if (size.width, size.height) == wanted:
        return f"the output is {size.width}x{size.height}, {whose} size."
    return (
        f"the output is {size.width}x{size.height}: {whose} size, {wanted[0]}x{wanted[1]}, "
        "rounded to a multiple of 8 (give --width and --height to choose)."
    )


def _source_size(path_text: str) -> tuple[int, int] | None:
    """The image's width and height from its header (None when it is not there)."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(
            f"The source image {path} cannot be read as an image: {exc}."
        ) from None
