"""File → Run a Batch…: a file of prompts (text, CSV or JSONL, as `main.py batch`
reads it) run as Create jobs, with the Create form's settings for every line that does
not set its own (its model, negative prompt, steps, CFG, size, sampler, clip skip,
VAE and prediction; the seed is the batch's, so that lines differ).

Choosing the file reads and plans it on a thread of its own (the file, the wildcard
files and the model folders are looked at there, never on the GUI thread); the dialog
then says how many pictures it will make, which were made before (the batch's journal
in the output folder) and each bad line's sentence. Start submits every job still to
make to the engine's queue; the dialog follows them all, with the batch's ETA, and
Cancel stops what is left. Each job done is written to the journal, so a batch stopped
here resumes where it stopped, here or on the command line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.api.catalogue import user_data_dir
from engine.api.errors import BadInput
from engine.api.requests import Txt2ImgRequest
from engine.batch.batch_file import BadLine, read_batch
from engine.batch.batch_journal import BatchJournal, journal_path
from engine.batch.batch_plan import BatchJob, BatchSettings, defaults_from_request, plan_batch
from engine.batch.wildcards import wildcard_folder
from engine.handle import JobHandle
from engine.interface import Engine

BATCH_FILES = "Batch files (*.txt *.csv *.jsonl *.ndjson);;All files (*)"


@dataclass
class BatchPlan:
    """What a batch file makes, read off the GUI thread."""

    jobs: list[BatchJob] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    journal: BatchJournal | None = None
    error: str = ""  # the file itself could not be read

    @property
    def todo(self) -> list[BatchJob]:
        done = self.journal.done if self.journal else set()
        return [job for job in self.jobs if job.key not in done]


def make_plan(
    path: Path, out: Path, form: Txt2ImgRequest, wildcards: Path | None = None
) -> BatchPlan:
    """The batch file read and planned with the Create form's settings as defaults;
    `__name__` reads the wildcards folder of Settings (the app's own by default)."""
    try:
        lines, bad = read_batch(path)
    except BadInput as exc:
        return BatchPlan(error=exc.message)
    journal = BatchJournal(journal_path(out, path))
    settings = BatchSettings(
        defaults_from_request(form, str(out)),
        journal.batch_seed,
        wildcards or wildcard_folder(user_data_dir()),
    )
    jobs, refused = plan_batch(lines, settings)
    return BatchPlan(jobs, sorted(bad + refused, key=lambda b: b.number), journal)


class _Planner(QObject):
    """Runs make_plan on a thread; `planned` arrives on the GUI thread."""

    planned = Signal(object)

    def start(self, plan: Callable[[], BatchPlan]) -> None:
        threading.Thread(target=lambda: self.planned.emit(plan()), daemon=True).start()


class BatchDialog(QDialog):
    def __init__(
        self,
        client: Engine,
        out: Path,
        form: Callable[[], Txt2ImgRequest],
        parent: QWidget | None = None,
        wildcards: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run a Batch")
        self.client = client
        self.out = out
        self.form = form  # the Create form's request, read when a file is chosen
        self.wildcards = wildcards
        self.plan: BatchPlan | None = None
        self.handles: dict[int, JobHandle] = {}  # the jobs not yet ended, by id
        self.total = self.made = self.made_here = 0
        self.started_at = 0.0
        self._writer = ThreadPoolExecutor(max_workers=1)  # the journal, in order, off the GUI
        self._planner = _Planner(self)
        self._planner.planned.connect(self.show_plan)
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.choose_button = QPushButton("Choose a Batch File…")
        self.choose_button.clicked.connect(self.choose)
        self.summary = QLabel(
            "A text file (a prompt a line, or generate's options: --prompt … --seed 5), "
            "a CSV file or a JSONL file. Lines that set nothing else take Create's settings."
        )
        self.summary.setWordWrap(True)
        self.problems = QPlainTextEdit(readOnly=True)
        self.problems.setPlaceholderText("Bad lines are listed here, by number.")
        self.progress = QProgressBar()
        self.status = QLabel("")
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (self.choose_button, self.summary, self.problems, self.progress):
            layout.addWidget(widget)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    # ------------------------------------------------------------ reading

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a batch file", "", BATCH_FILES)
        if path:
            self.load(Path(path))

    def load(self, path: Path) -> None:
        try:
            form = self.form()
        except BadInput as exc:
            self.summary.setText(f"Create's settings cannot start a job: {exc.message}")
            return
        self.summary.setText(f"Reading {path.name}…")
        self.start_button.setEnabled(False)
        self._planner.start(lambda: make_plan(path, self.out, form, self.wildcards))

    def show_plan(self, plan: BatchPlan) -> None:
        self.plan = plan
        if plan.error:
            self.summary.setText(plan.error)
            return
        self.total = sum(job.request.image_count for job in plan.jobs)
        self.made = self.total - sum(job.request.image_count for job in plan.todo)
        text = f"{len(plan.jobs)} jobs, {self.total} pictures"
        if self.made:
            text += f"; {self.made} made before, the batch resumes after them"
        if plan.bad:
            text += f"; {len(plan.bad)} bad lines are skipped"
        self.summary.setText(text + ".")
        self.problems.setPlainText("\n".join(str(line) for line in plan.bad))
        if plan.journal and plan.journal.warning:
            self.problems.appendPlainText(plan.journal.warning)
        self.progress.setRange(0, max(1, self.total))
        self.progress.setValue(self.made)
        self.start_button.setEnabled(bool(plan.todo))

    # ------------------------------------------------------------ running

    def start(self) -> None:
        if self.plan is None:
            return
        self.start_button.setEnabled(False)
        self.choose_button.setEnabled(False)
        self.started_at = time.monotonic()
        for job in self.plan.todo:
            try:
                handle = self.client.submit(job.request)
            except BadInput as exc:
                self.problems.appendPlainText(f"line {job.line}: {exc.message}")
                continue
            handle.finished.connect(lambda outcome, job=job: self._finished(job, outcome))
            handle.failed.connect(lambda message, _kind, job=job: self._failed(job, message))
            for ended in (handle.finished, handle.failed, handle.cancelled):
                ended.connect(lambda *_, job_id=handle.job_id: self.handles.pop(job_id, None))
            self.handles[handle.job_id] = handle
        self._show_progress()

    def _finished(self, job: BatchJob, outcome: object) -> None:
        paths = [image.path for image in getattr(outcome, "images", ()) if image.path]
        journal = self.plan.journal if self.plan else None
        if journal is not None:
            self._writer.submit(journal.record, job.key, job.line, paths)
        self.made += job.request.image_count
        self.made_here += job.request.image_count
        self._show_progress()

    def _failed(self, job: BatchJob, message: str) -> None:
        self.problems.appendPlainText(f"line {job.line}: {message}")

    def _show_progress(self) -> None:
        self.progress.setValue(self.made)
        left = self.total - self.made
        text = f"{self.made}/{self.total} pictures"
        if self.made_here and left:
            per_picture = (time.monotonic() - self.started_at) / self.made_here
            text += f", about {_duration(per_picture * left)} left"
        self.status.setText(text)

    def cancel(self) -> None:
        """Stop what is left of the batch (what was made stays, and is in the journal)."""
        for handle in list(self.handles.values()):
            handle.cancel()
        self.handles.clear()
        self.reject()

    def wait_for_journal(self) -> None:
        """Every journal entry written (tests; closing)."""
        self._writer.submit(lambda: None).result()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def open_batch_dialog(
    client: Engine,
    out: Path,
    form: Callable[[], Txt2ImgRequest],
    parent: QWidget,
    wildcards: Path | None = None,
) -> BatchDialog:
    """File → Run a Batch…: the dialog, asking for the file at once."""
    dialog = BatchDialog(client, out, form, parent, wildcards)
    dialog.open()
    dialog.choose()
    return dialog
