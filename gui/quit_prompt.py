"""Quitting with work in flight: ask, and offer what keeps the work.

*Quit Anyway* cancels everything; *Quit When Done* waits for the jobs; with a training
running, *Stop Training and Quit* stops it now, keeping the model at the step it reached
(as the Stop button does), and quits once it is written and the other jobs are done.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QStatusBar

from engine.api.kinds import Lane
from gui.job_controls import JobControls
from gui.viewmodels.jobs import JobsModel, JobStatus
from gui.viewmodels.results import ResultsModel

QUIT_ANYWAY = "Quit Anyway"
QUIT_WHEN_DONE = "Quit When Done"
STOP_TRAINING = "Stop Training and Quit"


class QuitWindow(Protocol):
    """What the prompt uses of the main window (MainWindow has it all; typed here so that
    this module does not import the window that imports it). The window is also the Qt
    parent of the box."""

    jobs: JobsModel
    results: ResultsModel
    controls: JobControls
    quit_box: QMessageBox | None  # the open prompt (tests answer it)
    quit_when_idle: bool
    closing: bool

    def close_now(self) -> None: ...

    def statusBar(self) -> QStatusBar: ...  # noqa: N802


def ask_before_quitting(window: QuitWindow) -> bool:
    """True when the user was asked (the close waits for the answer)."""
    active = [s for s in window.jobs.active() if s.request.listed]
    unsaved = len(window.results.unsaved)
    if not active and not unsaved:
        return False
    parts = []
    if active:
        running = sum(s.status is not JobStatus.QUEUED for s in active)
        parts.append(f"{running} job(s) running and {len(active) - running} waiting")
    if unsaved:
        parts.append(f"{unsaved} image(s) not saved")
    training = [s.job_id for s in active if s.lane is Lane.TRAIN]
    text = f"There are {' and '.join(parts)}. Quitting now loses them."
    if training:
        text += f"\n\n{STOP_TRAINING} keeps the model at the step it has reached."
    box = QMessageBox(QMessageBox.Icon.Question, "Quit Latent Studio?", text, parent=window)
    buttons: dict[QAbstractButton, str] = {
        box.addButton(QUIT_ANYWAY, QMessageBox.ButtonRole.DestructiveRole): QUIT_ANYWAY
    }
    if training:
        buttons[box.addButton(STOP_TRAINING, QMessageBox.ButtonRole.AcceptRole)] = STOP_TRAINING
    if active:
        buttons[box.addButton(QUIT_WHEN_DONE, QMessageBox.ButtonRole.AcceptRole)] = QUIT_WHEN_DONE
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.finished.connect(lambda _r: _answer(window, buttons.get(box.clickedButton()), training))
    box.open()
    window.quit_box = box
    return True


def _answer(window: QuitWindow, answer: str | None, training: list[int]) -> None:
    if answer == QUIT_ANYWAY:
        window.close_now()
        return
    if answer not in (QUIT_WHEN_DONE, STOP_TRAINING):
        return  # Cancel: nothing changes
    if answer == STOP_TRAINING:
        for job_id in training:
            window.controls.stop(job_id)
    window.quit_when_idle = True
    window.closing = True
    what = "the model is kept" if answer == STOP_TRAINING else "the jobs are done"
    window.statusBar().showMessage(f"Latent Studio will quit when {what}.")
