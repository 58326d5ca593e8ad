"""File → Save Image As…: what the canvas shows, written where the user says.

A file from the gallery is copied (its embedded recipe with it); images the gallery could
not take are written with their recipe; anything else is the canvas's pixels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from engine.api.naming import slugify
from engine.interface import Engine
from engine.store import StoreError, save_png_copy
from gui.notices import Notices
from gui.result_view import ResultView


class FileActions:
    def __init__(self, parent: QWidget, client: Engine, view: ResultView, notices: Notices) -> None:
        self.parent, self.client, self.view, self.notices = parent, client, view, notices

    def save_image_as(self) -> None:
        """Ask where, then save; images the gallery could not take keep their recipe."""
        if self.view.canvas.image is None:
            return
        root = self.client.gallery.root
        folder = root if root.is_dir() else Path.home()
        path, _ = QFileDialog.getSaveFileName(
            self.parent,
            "Save Image As",
            str(folder / self.suggested_file_name()),
            "PNG image (*.png)",
        )
        if path:
            self.save_shown_image(Path(path))

    def suggested_file_name(self) -> str:
        """The shown image's own file name, or one made from its prompt and seed."""
        if self.view.shown_file:
            return Path(self.view.shown_file).name
        shown = self.view.results.shown
        if shown is None or not shown.images:
            return "image.png"
        slug = slugify(shown.request.slug_text) or "image"
        return f"{slug}-{shown.images[0].seed}.png"

    def save_shown_image(self, path: Path) -> list[Path]:
        """Write the shown image(s) to `path` (name-2.png, name-3.png… for a batch)."""
        path = path.with_suffix(".png")
        results, canvas = self.view.results, self.view.canvas
        shown = results.shown
        unsaved = results.unsaved_of(shown.job_id) if shown else []
        targets: list[Path] = []
        try:
            if self.view.shown_file:  # a copy of the file keeps its embedded recipe
                shutil.copyfile(self.view.shown_file, path)
                targets.append(path)
            elif unsaved:
                for i, item in enumerate(unsaved):
                    target = path if i == 0 else path.with_stem(f"{path.stem}-{i + 1}")
                    targets.append(save_png_copy(item.image.rgb, target, item.image.png_text))
                results.forget(unsaved)
            elif canvas.image is not None and canvas.image.save(str(path), "PNG"):
                targets.append(path)
            else:
                raise OSError("the image could not be encoded")
        except (OSError, StoreError) as exc:
            message = exc.message if isinstance(exc, StoreError) else f"{exc}."
            self.notices.error("Not saved", f"Could not write {path}: {message}")
            return targets
        self.notices.say(f"Saved {', '.join(map(str, targets))}", 10_000)
        return targets
