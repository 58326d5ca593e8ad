"""The queue: every job, its lane and progress; remove, cancel, pause or stop them.

It shows the JobsModel (gui.viewmodels.jobs); the buttons ask the main window to act.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.api.kinds import Family, Lane
from engine.api.requests import Request
from gui.viewmodels.jobs import JobsModel, JobState, JobStatus

JobIdRole = Qt.ItemDataRole.UserRole
# The mode a job came from, by its model's family (the lane is the engine's business:
# a Lab's quality measurement runs on the generate lane, and is still the Lab's).
MODE_OF_FAMILY = {Family.SD: "Create", Family.UPSCALE: "Upscale"}


def mode_name(request: Request, lane: Lane) -> str:
    """The Queue's second column: Lab, Train, Create or Upscale."""
    if lane is Lane.TRAIN:
        return "Train"
    family = getattr(request, "family", None)
    return MODE_OF_FAMILY.get(family, "Lab") if isinstance(family, Family) else "Lab"


class QueueDock(QDockWidget):
    cancel_requested = Signal(int)
    pause_requested = Signal(int)
    resume_requested = Signal(int)
    stop_requested = Signal(int)

    def __init__(self, jobs: JobsModel, parent: QWidget | None = None) -> None:
        super().__init__("Queue", parent)
        self.setObjectName("queue-dock")
        self.jobs = jobs
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Job", "Mode", "Status"])
        self.tree.setMinimumWidth(200)
        self.tree.setRootIsDecorated(False)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, header.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Remove a queued job, or stop the running one (Esc)")
        self.cancel_button.clicked.connect(lambda: self._for_selected(self.cancel_requested))
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume a training between two steps")
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End a training now and keep the model as it is")
        self.stop_button.clicked.connect(lambda: self._for_selected(self.stop_requested))
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove finished, cancelled and failed jobs from the list")
        self.clear_button.clicked.connect(jobs.clear_finished)

        buttons = QHBoxLayout()
        for button in (self.cancel_button, self.pause_button, self.stop_button, self.clear_button):
            # As narrow as their words allow (not the style's 80 px): on a small screen
            # the dock's width is taken from the canvas.
            words = max(button.fontMetrics().horizontalAdvance(t) for t in ("Resume", "Cancel"))
            button.setMinimumWidth(words + 16)
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._items: dict[int, QTreeWidgetItem] = {}
        self._numbered = 0  # listed jobs so far: the numbers the user sees
        jobs.added.connect(self._add)
        jobs.changed.connect(self._change)
        jobs.removed.connect(self._remove)
        self._update_buttons()

    # ------------------------------------------------------------ model -> view

    def _add(self, state: JobState) -> None:
        if not state.request.listed:
            return
        # Numbered by the queue, not by the engine's job ids: slider moves and other live
        # requests are jobs too, and would make the numbers jump (#15, then #25).
        self._numbered += 1
        mode = mode_name(state.request, state.lane)
        item = QTreeWidgetItem([f"#{self._numbered} {state.label}", mode, ""])
        item.setData(0, JobIdRole, state.job_id)
        self.tree.addTopLevelItem(item)
        self._items[state.job_id] = item
        self._change(state)
        self.tree.scrollToItem(item)  # follow new jobs: the one just started is in view

    def _change(self, state: JobState) -> None:
        item = self._items.get(state.job_id)
        if item is None:
            return
        item.setText(2, state.status_text)
        tip = state.request.prompt_text or state.label
        item.setToolTip(0, f"{tip}\n{state.label}" if tip != state.label else tip)
        if state.status is JobStatus.FAILED:
            item.setToolTip(2, state.message)
        self._update_buttons()

    def _remove(self, job_id: int) -> None:
        item = self._items.pop(job_id, None)
        if item is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        self._update_buttons()

    # ------------------------------------------------------------ queries (tests, main window)

    def status(self, job_id: int) -> str | None:
        item = self._items.get(job_id)
        return item.text(2) if item else None

    def select(self, job_id: int) -> None:
        self.tree.setCurrentItem(self._items[job_id])

    def clear_finished(self) -> None:
        self.jobs.clear_finished()

    # ------------------------------------------------------------ buttons

    def _selected(self) -> list[JobState]:
        ids = [item.data(0, JobIdRole) for item in self.tree.selectedItems()]
        states = [self.jobs.get(j) for j in ids]
        return [s for s in states if s is not None and not s.status.ended]

    def _for_selected(self, signal: Signal) -> None:
        for state in self._selected():
            signal.emit(state.job_id)

    def _pause_or_resume(self) -> None:
        for state in self._selected():
            if state.lane is Lane.TRAIN and state.status is JobStatus.PAUSED:
                self.resume_requested.emit(state.job_id)
            elif state.lane is Lane.TRAIN and state.status is JobStatus.RUNNING:
                self.pause_requested.emit(state.job_id)

    def _update_buttons(self) -> None:
        selected = self._selected()
        training = [
            s for s in selected if s.lane is Lane.TRAIN and s.status is not JobStatus.QUEUED
        ]
        self.cancel_button.setEnabled(bool(selected))
        self.pause_button.setEnabled(bool(training))
        self.stop_button.setEnabled(bool(training))
        paused = bool(training) and all(s.status is JobStatus.PAUSED for s in training)
        self.pause_button.setText("Resume" if paused else "Pause")
