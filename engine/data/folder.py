"""A folder of the user's own images as a training set.

jpg, png and webp, any size: centre-cropped to a square, resized to the chosen side (16,
32 or 64) with Lanczos, RGB or grey. Transparency is laid on white; palette, 16-bit,
grey and CMYK images are converted, EXIF rotation honoured. Files that are not images or
cannot be decoded are skipped, counted and named in the report, never a crash.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.api.catalogue import DATASET_TITLES
from engine.api.errors import BadInput

SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
SIDES = (16, 32, 64)
MIN_IMAGES = 16  # fewer cannot teach a generative model anything but copies
MAX_IMAGES = 50_000
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")  # endless, blocking or unreadable: never images


@dataclass
class FolderReport:
    used: int = 0
    skipped: list[str] = field(default_factory=list)  # "name: why"
    converted: dict[str, int] = field(default_factory=dict)  # source mode -> count
    enlarged: int = 0  # images smaller than the side, enlarged

    def summary(self) -> str:
        parts = [f"{self.used} images"]
        if self.skipped:
            parts.append(skipped_text(self.skipped))
        if self.converted:
            modes = ", ".join(f"{n} {mode}" for mode, n in sorted(self.converted.items()))
            parts.append(f"converted to RGB: {modes}")
        if self.enlarged:
            parts.append(f"{self.enlarged} smaller than the training size, enlarged")
        return "; ".join(parts)


def load_folder(
    folder: Path, side: int = 32, grey: bool = False
) -> tuple[np.ndarray, FolderReport, str]:
    """(images float32 N x C x side x side in [0, 1], report, fingerprint)."""
    from PIL import Image, ImageOps

    folder = Path(folder).expanduser()
    check_folder(folder)
    if side not in SIDES:
        raise BadInput(f"Train on images of {', '.join(map(str, SIDES))} pixels, not {side}.")
    report = FolderReport()
    files = files_in(folder, report)
    images, digest = [], hashlib.sha256()
    for path in files:
        if path.suffix.lower() not in SUFFIXES:
            report.skipped.append(f"{path.name}: not a jpg, png or webp")
            continue
        try:
            with Image.open(path) as image:
                image = ImageOps.exif_transpose(image)
                image.load()
                pixels = _square(image, side, grey, report)
        except Exception as exc:  # noqa: BLE001 - Pillow signals bad files with many types
            report.skipped.append(f"{path.name}: cannot be read ({type(exc).__name__})")
            continue
        images.append(pixels)
        digest.update(pixels.tobytes())
        if len(images) >= MAX_IMAGES:
            break
    report.used = len(images)
    if report.used < MIN_IMAGES:
        found = f"found {report.used} usable image{'s' if report.used != 1 else ''}"
        raise BadInput(
            f"{folder} is too small to train on: {found}, and training needs at least "
            f"{MIN_IMAGES}; add more jpg, png or webp images to it."
            + (f" {skipped_text(report.skipped)}." if report.skipped else "")
        )
    array = np.stack(images).astype(np.float32) / 255.0
    array = array[:, None] if grey else array.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(array), report, digest.hexdigest()


def check_data_folder(folder: Path) -> None:
    """BadInput, in the training loader's words, for a path that is no folder of images
    to train on: the loader checks so, and a cluster's driver before it sends a sweep's
    folder (engine.cluster.data_files)."""
    if not folder.exists():
        raise BadInput(
            f"There is no data set called {str(folder)!r}: choose {', '.join(DATASET_TITLES)}, "
            "or a folder of images."
        )
    check_folder(folder.expanduser())


def check_folder(folder: Path) -> None:
    """BadInput for a path that is no folder of images to read (`folder` expanded)."""
    if not folder.is_dir():
        raise BadInput(f"{folder} is not a folder of images.")
    if str(folder.resolve()).startswith(SYSTEM_FOLDERS):
        raise BadInput(f"{folder} is a system folder, not a folder of images; choose another.")


def skipped_text(skipped: list[str]) -> str:
    """ "2 skipped (notes.txt: not a jpg, png or webp; …)": the skipped files alone,
    never mixed with the count of those used (which once read "Skipped: 3 images")."""
    shown = "; ".join(skipped[:3]) + ("; …" if len(skipped) > 3 else "")
    return f"{len(skipped)} skipped ({shown})"


def files_in(folder: Path, report: FolderReport) -> list[Path]:
    """The files under `folder` the loader reads, sorted (a cluster's driver lists them
    so: engine.cluster.data_files); a subfolder that cannot be read is skipped and
    named in the report, and symlinked folders are not followed (out of the tree, or
    round in a loop)."""

    def unreadable(exc: OSError) -> None:
        report.skipped.append(f"{Path(exc.filename or '?').name}: cannot be read")

    files = []
    for root, _dirs, names in os.walk(folder, onerror=unreadable, followlinks=False):
        for name in names:
            path = Path(root) / name
            try:
                if not name.startswith(".") and path.is_file():
                    files.append(path)
            except OSError:  # a link to somewhere it may not look
                report.skipped.append(f"{name}: cannot be read")
    return sorted(files)


def _square(image, side: int, grey: bool, report: FolderReport) -> np.ndarray:
    from PIL import Image

    if image.mode not in ("RGB", "L"):
        report.converted[image.mode] = report.converted.get(image.mode, 0) + 1
    keyed = image.mode in ("P", "L", "RGB") and "transparency" in image.info  # tRNS chunk
    if image.mode in ("RGBA", "LA", "PA") or keyed:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit samples: 0..65535 is black..white (not the image's own maximum, which
        # would turn a dark image white; nor Pillow's convert, which clips at 255).
        array = np.clip(np.asarray(image, np.float64), 0, 65535)
        image = Image.fromarray(np.rint(array * (255 / 65535)).astype(np.uint8))
    image = image.convert("L" if grey else "RGB")
    width, height = image.size
    crop = min(width, height)
    left, top = (width - crop) // 2, (height - crop) // 2
    image = image.crop((left, top, left + crop, top + crop))
    if crop < side:
        report.enlarged += 1
    return np.asarray(image.resize((side, side), Image.Resampling.LANCZOS), np.uint8)
