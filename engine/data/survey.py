"""A first look at a folder of images picked to train on, before any training: how many
images it holds and which files will be skipped, so the Train tab can say so at once.

Only each file's header is read (Pillow opens lazily), not its pixels: a folder of
thousands answers in seconds, off the window's thread. A file whose header is fine but
whose pixels are broken is only found by the training itself, which skips it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.data.folder import MAX_IMAGES, MIN_IMAGES, SUFFIXES, skipped_text


@dataclass
class FolderSurvey:
    usable: int = 0
    skipped: list[str] = field(default_factory=list)  # "name: why", as training says it
    capped: bool = False  # stopped at MAX_IMAGES, as training does

    def sentence(self) -> str:
        """ "312 images to train on; 2 skipped (notes.txt: …)", or why it is too few."""
        images = f"{self.usable:,}{'+' if self.capped else ''} image" + (
            "" if self.usable == 1 else "s"
        )
        if self.usable < MIN_IMAGES:
            text = f"Only {images} here: training needs at least {MIN_IMAGES}"
        else:
            text = f"{images} to train on"
        return text + (f"; {skipped_text(self.skipped)}" if self.skipped else "") + "."


def survey_folder(folder: Path) -> FolderSurvey:
    """Count the images training would use and name the files it would skip."""
    from PIL import Image

    survey = FolderSurvey()
    folder = Path(folder).expanduser()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if path.suffix.lower() not in SUFFIXES:
            survey.skipped.append(f"{path.name}: not a jpg, png or webp")
            continue
        try:
            with Image.open(path):
                pass
        except Exception as exc:  # noqa: BLE001 - Pillow signals bad files with many types
            survey.skipped.append(f"{path.name}: cannot be read ({type(exc).__name__})")
            continue
        survey.usable += 1
        if survey.usable >= MAX_IMAGES:
            survey.capped = True
            break
    return survey
