"""Which files are images to work on: what a dropped folder or a command's inputs hold.
Torch-free, so the GUI and the command line share it."""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
# A file dialog's filters for them: images only, or with "All files" as a second choice.
IMAGES_ONLY_FILTER = f"Images ({' '.join('*' + s for s in IMAGE_SUFFIXES)})"
IMAGE_FILTER = f"{IMAGES_ONLY_FILTER};;All files (*)"


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def expand_image_inputs(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Files as given (whatever their suffix: a wrong one is reported when read) and the
    images directly inside folders, in name order; plus the paths that do not exist."""
    files: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = [p for p in path.iterdir() if p.is_file() and is_image_name(p)]
            files += sorted(inside, key=lambda p: p.name.lower())
        elif path.exists():
            files.append(path)
        else:
            missing.append(path)
    return files, missing
