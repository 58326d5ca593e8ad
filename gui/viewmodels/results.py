"""What the last finished job gave, and every image the user has not saved yet.

An image is unsaved when its request did not ask for the gallery (interactive Lab
work) or when saving failed (an unwritable folder). Unsaved images stay here, with their
recipe, until the user saves them elsewhere or dismisses them: a later job never pushes
them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    ModelOutcome,
    Outcome,
    ResultImage,
    VectorsOutcome,
)
from engine.api.requests import Request


@dataclass(frozen=True)
class ShownResult:
    job_id: int
    request: Request
    outcome: Outcome

    @property
    def images(self) -> tuple[ResultImage, ...]:
        return self.outcome.images if isinstance(self.outcome, ImagesOutcome) else ()

    @property
    def pixels(self) -> list[np.ndarray]:
        """What the canvas shows for this result: images or frames."""
        if isinstance(self.outcome, ImagesOutcome):
            return [image.rgb for image in self.outcome.images]
        if isinstance(self.outcome, FramesOutcome):
            return list(self.outcome.frames)
        return []


@dataclass(frozen=True)
class UnsavedImage:
    job_id: int
    request: Request
    image: ResultImage


class ResultsModel(QObject):
    shown_changed = Signal()
    unsaved_changed = Signal()
    model_written = Signal(object)  # ModelOutcome

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shown: ShownResult | None = None
        self._unsaved: list[UnsavedImage] = []

    @property
    def unsaved(self) -> list[UnsavedImage]:
        return list(self._unsaved)

    def unsaved_of(self, job_id: int) -> list[UnsavedImage]:
        return [u for u in self._unsaved if u.job_id == job_id]

    def add(self, job_id: int, request: Request, outcome: Outcome) -> None:
        """A job finished: show what it made, and keep what is not on disk."""
        if request.shows_own_outcome:  # a preview for the widget that asked
            return
        if isinstance(outcome, ModelOutcome):
            self.model_written.emit(outcome)
            return
        if isinstance(outcome, VectorsOutcome | AxesOutcome):  # numbers (a score, axes…):
            return  # the panel that asked shows them; the image on screen stays
        self.shown = ShownResult(job_id, request, outcome)
        if isinstance(outcome, ImagesOutcome):
            kept = [UnsavedImage(job_id, request, i) for i in outcome.images if i.path is None]
            if kept:
                self._unsaved.extend(kept)
                self.unsaved_changed.emit()
        self.shown_changed.emit()

    def show_nothing(self) -> None:
        self.shown = None
        self.shown_changed.emit()

    def forget(self, items: list[UnsavedImage]) -> None:
        """Saved elsewhere, or dismissed: no longer unsaved."""
        ids = {id(u) for u in items}
        before = len(self._unsaved)
        self._unsaved = [u for u in self._unsaved if id(u) not in ids]
        if len(self._unsaved) != before:
            self.unsaved_changed.emit()
