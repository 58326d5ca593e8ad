"""The status bar: the running job's progress, and the device the engine computes on."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from engine.api.events import DeviceInfo
from engine.api.kinds import Lane
from gui.elided_label import ElidedLabel
from gui.viewmodels.jobs import JobsModel, JobState, progress_text

NOTE_MS = 30_000  # a device note (a cluster that could not be reached) stays this long
DEVICE_TIP = "The device the engine computes on (Settings → Device, Precision)"


class StatusBar(QStatusBar):
    def __init__(self, jobs: JobsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.progress_label = QLabel()
        # Elided: a long line (a cluster's workers) must not widen the window.
        self.device_label = ElidedLabel("Starting engine…")
        self.device_label.setToolTip(DEVICE_TIP)
        # A device note (why a cluster could not be joined: what to do) is a sentence or
        # three: wrapped over as many lines as it needs while shown, never cut off.
        self.note_label = QLabel(wordWrap=True)
        self.note_label.hide()
        self._note_timer = QTimer(self, singleShot=True, interval=NOTE_MS)
        self._note_timer.timeout.connect(self.note_label.hide)
        self.addWidget(self.note_label, 1)
        self.addPermanentWidget(self.progress_label)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.device_label)
        jobs.changed.connect(self._refresh)
        jobs.added.connect(self._refresh)
        self._tick = QTimer(self, interval=1000)  # the ETA counts down between two steps
        self._tick.timeout.connect(self._refresh)

    def show_device(self, info: DeviceInfo) -> None:
        self.device_label.setText(info.description)
        # Why this numeric path (measured, forced, no bf16 hardware): on hovering.
        self.device_label.setToolTip(f"{DEVICE_TIP}\n{info.detail}" if info.detail else DEVICE_TIP)
        if info.note and info.note != info.description:
            self.note_label.setText(info.note)
            self.note_label.show()
            self._note_timer.start()

    def foreground_job(self) -> JobState | None:
        """The job whose progress the bar shows: the newest running one, training last."""
        running = self.jobs.running()
        others = [s for s in running if s.lane is not Lane.TRAIN]
        return (others or running or [None])[-1]

    def _refresh(self, _state: object = None) -> None:
        state = self.foreground_job()
        if state is None:
            self.progress.hide()
            self.progress_label.clear()
            self._tick.stop()
            return
        self.progress.show()
        if not self._tick.isActive():
            self._tick.start()
        if state.total and state.step:
            self.progress.setRange(0, state.total)
            self.progress.setValue(state.step)
        else:
            self.progress.setRange(0, 0)  # busy: loading, or before the first step ends
        self.progress_label.setText(progress_text(state))
