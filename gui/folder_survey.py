"""The Train tab's first look at a picked folder, off the GUI thread.

Counting a folder's images reads one header per file: a second for a few thousand, more
for a big folder on a slow disk. The window never waits for it: the survey runs on a
short-lived thread and reports back through a queued signal; a newer pick supersedes an
older survey still running, so the answer shown is always for the folder picked last.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.data.survey import FolderSurvey, survey_folder

log = logging.getLogger(__name__)


class FolderSurveyor(QObject):
    surveyed = Signal(str, object)  # the folder, its FolderSurvey (None: it could not be read)
    _finished = Signal(int, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._finished.connect(self._deliver)

    def survey(self, folder: str) -> None:
        self._generation += 1
        threading.Thread(
            target=self._run, args=(self._generation, folder), name="folder-survey", daemon=True
        ).start()

    def _run(self, generation: int, folder: str) -> None:
        try:
            found: FolderSurvey | None = survey_folder(Path(folder))
        except OSError:  # unreadable folder: training will say why; say nothing here
            log.exception("surveying %s failed", folder)
            found = None
        self._finished.emit(generation, folder, found)

    def _deliver(self, generation: int, folder: str, found: FolderSurvey | None) -> None:
        if generation == self._generation:
            self.surveyed.emit(folder, found)
