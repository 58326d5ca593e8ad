"""The Train tab's Sweep row, and watching a sweep's runs as they finish.

A sweep trains once per value of one numeric setting (engine.api.sweep: which settings a
family offers, read from its spec, and the X/Y/Z plot's range syntax). The row counts the
runs as the range is typed, or says why the range is refused; Start then queues one
training per value on the training lane, each saved under a name with its value, and
the Lab's model list gains each model as its run finishes. Stop ends the running run
(its model kept) and drops the runs not started. The command line's `train --sweep`
adds a journal (resuming) and a comparison table.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from engine.api.errors import BadInput
from engine.api.outcomes import ModelOutcome
from engine.api.requests import TrainRequest
from engine.api.sweep import Sweep, read_sweep, sweep_names, sweep_requests
from engine.handle import JobHandle

SHOWN_VALUES = 6  # the count's line lists this many values, then "…"


class SweepBox(QWidget):
    """[x] Sweep  [setting]  [range]  — "3 runs: 2, 4, 6" or the range's sentence."""

    runs_changed = Signal(int)  # the runs Start would queue; 0: no sweep (or a bad one)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.family = ""
        self.runs = 0  # the runs Start would queue, as runs_changed last said
        self.enabled = QCheckBox("Sweep")
        self.enabled.setToolTip("Train once per value of one setting, each run its own model")
        self.setting = QComboBox()
        self.range = QLineEdit()
        self.range.setPlaceholderText("2-6 (+2), 0.5-1.5 [5], 1, 3, 5")
        self.count = QLabel()
        self.count.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.enabled, self.setting, self.range):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.count)
        self.enabled.toggled.connect(self._update)
        self.setting.currentIndexChanged.connect(self._update)
        self.range.textChanged.connect(self._update)
        self._update()

    def set_family(self, family: str) -> None:
        """Offer the settings `family` may sweep, keeping the chosen one where it can."""
        if family == self.family:
            return
        self.family = family
        chosen = self.setting.currentText()
        self.setting.blockSignals(True)
        self.setting.clear()
        self.setting.addItems(sweep_names(family))
        self.setting.setCurrentIndex(max(0, self.setting.findText(chosen)))
        self.setting.blockSignals(False)
        self._update()

    @property
    def active(self) -> bool:
        return self.enabled.isChecked() and self.isEnabled()

    def sweep(self) -> Sweep:
        """The sweep typed; BadInput with the sentence when it cannot run."""
        return read_sweep(self.family, self.setting.currentText(), self.range.text())

    def requests(self, request: TrainRequest) -> list[TrainRequest]:
        """One training per value: `request` with the value, named after its file, each
        marked a sweep's run (a window on a cluster trains it on a worker)."""
        output = Path(request.output)
        runs = sweep_requests(request, self.sweep(), output.parent, output.stem)
        return [replace(run, sweep_run=True) for run in runs]

    def _tell_runs(self, runs: int) -> None:
        self.runs = runs
        self.runs_changed.emit(runs)

    def _update(self) -> None:
        on = self.enabled.isChecked()
        self.setting.setEnabled(on)
        self.range.setEnabled(on)
        self.count.setVisible(on)
        if not on or not self.family:
            self._tell_runs(0)
            return
        try:
            sweep = self.sweep()
        except BadInput as exc:
            self.count.setText(exc.message)
            self.count.setStyleSheet("color: #e0a040;")
            self._tell_runs(0)
            return
        self._tell_runs(len(sweep.values))
        words = sweep.words[:SHOWN_VALUES] + (("…",) if len(sweep.words) > SHOWN_VALUES else ())
        runs = "1 run" if len(sweep.values) == 1 else f"{len(sweep.values)} runs"
        self.count.setText(f"{runs}: {', '.join(words)}")
        self.count.setStyleSheet("color: #a8a8a8;")


class SweepWatch(QObject):
    """A sweep's handles: each finished run is announced; the end is told once."""

    run_finished = Signal(object)  # the run's ModelOutcome
    ended = Signal(str)  # the sweep's last sentence

    def __init__(self, handles: list[JobHandle], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.handles = handles
        self.started: set[int] = set()
        self.over: set[int] = set()  # the runs that have ended
        self.finished: list[ModelOutcome] = []
        self.failures: list[str] = []
        self._ended = 0
        for index, handle in enumerate(handles):
            handle.started.connect(lambda index=index: self.started.add(index))
            handle.finished.connect(lambda outcome, index=index: self._finished(index, outcome))
            handle.failed.connect(lambda message, _kind, index=index: self._end(index, message))
            handle.cancelled.connect(lambda index=index: self._end(index, None))

    def stop(self) -> None:
        """Drop the runs not started; those running (several, on a cluster's workers)
        end at their step, their models kept."""
        for index, handle in enumerate(self.handles):
            if index not in self.started:
                handle.cancel()
            elif index not in self.over:
                handle.stop()

    def _finished(self, index: int, outcome: ModelOutcome) -> None:
        self.finished.append(outcome)
        self.run_finished.emit(outcome)
        self._end(index, None)

    def _end(self, index: int, failure: str | None) -> None:
        self.over.add(index)
        if failure:
            self.failures.append(failure)
        self._ended += 1
        if self._ended < len(self.handles):
            return
        said = f"Sweep done: {len(self.finished)} of {len(self.handles)} runs trained"
        said += f"; {self.failures[0]}" if self.failures else "."
        self.ended.emit(said + " Each model is in the Sample tab's picker.")


def start_sweep(lab) -> None:
    """Queue the Train tab's sweep for the Lab panel `lab` (its `train`, `send`,
    `follow`, `refresh_models`): one training per value, each model listed as its run
    finishes; a bad range is said on the tab and nothing starts."""
    train = lab.train
    try:
        requests = train.sweep.requests(train.build_request())
    except BadInput as exc:
        train.status.setText(exc.message)
        return
    handles = [handle for request in requests if (handle := lab.send(request))]
    if not handles:
        return
    train.started()
    follow_newest_run(lab, handles)
    watch = SweepWatch(handles, lab)
    train.stop_requested.connect(watch.stop)
    watch.run_finished.connect(lambda outcome: lab.refresh_models(select=outcome.path))
    watch.run_finished.connect(lambda _outcome: lab.models_changed.emit())
    watch.ended.connect(train.ended)
    watch.ended.connect(lambda _said: train.stop_requested.disconnect(watch.stop))
    watch.ended.connect(lambda _said: watch.deleteLater())


def follow_newest_run(lab, handles: list[JobHandle]) -> None:
    """The Train tab shows the newest started run of the sweep, from its first step.

    On a cluster several runs train at once (one per worker); their losses in one plot
    would be a mix of runs. A run that starts takes the plot and samples over afresh;
    the others' progress is not drawn (their models still land as each finishes)."""
    shown = [handles[0]]

    def take_over(handle: JobHandle) -> None:
        if handle is not shown[0]:
            shown[0] = handle
            lab.train.started()  # the plot and samples start afresh

    for handle in handles:
        handle.started.connect(lambda handle=handle: take_over(handle))
        lab.follow(handle, shown=lambda handle=handle: handle is shown[0])
