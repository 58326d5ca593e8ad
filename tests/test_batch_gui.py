"""File → Run a Batch…: the dialog reads the file off the GUI thread, says what it will
make and which lines are bad, submits the rest with Create's settings as defaults,
follows them, and resumes a batch stopped halfway without making anything twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject

from engine.api.kinds import Family
from engine.api.outcomes import ImagesOutcome, ResultImage
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import Request, Txt2ImgRequest
from engine.handle import JobHandle
from gui.batch_dialog import BatchDialog

FORM = Txt2ImgRequest(
    model=ModelRef(Family.SD, "/models/fox.safetensors"),
    prompt=Prompt("the form's prompt", "blurry"),
    size=Size(64, 64),
    sampling=Sampling(steps=7, cfg_scale=4.5, seed=1),
)


class FakeEngine(QObject):
    """Takes jobs and says nothing until the test finishes them."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[tuple[Request, JobHandle]] = []
        self.cancelled: list[int] = []

    def submit(self, request: Request, replace_key: str | None = None) -> JobHandle:
        request.validate()
        handle = JobHandle(self, len(self.jobs) + 1, parent=self)
        self.jobs.append((request, handle))
        return handle

    def cancel(self, job_id: int) -> None:
        self.cancelled.append(job_id)

    stop = pause = resume = cancel

    def finish(self, index: int, path: str) -> None:
        request, handle = self.jobs[index]
        image = ResultImage(np.zeros((8, 8, 3), np.uint8), request.sampling.seed, path=path)
        handle.finished.emit(ImagesOutcome((image,)))


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("a red fox\n--prompt an owl --steps 3\n--steps many\na wolf\n")
    return path


def open_dialog(qtbot, engine: FakeEngine, out: Path, batch: Path) -> BatchDialog:
    dialog = BatchDialog(engine, out, lambda: FORM)
    qtbot.addWidget(dialog)
    dialog.load(batch)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    return dialog


def test_the_dialog_shows_the_bad_lines_and_runs_the_rest_then_resumes(qtbot, tmp_path, batch):
    out = tmp_path / "gallery"
    engine = FakeEngine()
    dialog = open_dialog(qtbot, engine, out, batch)
    assert dialog.summary.text() == "3 jobs, 3 pictures; 1 bad lines are skipped."
    assert dialog.problems.toPlainText() == "line 3: Argument --steps: invalid int value: 'many'."
    assert dialog.start_button.isEnabled()

    dialog.start_button.click()
    requests = [request for request, _ in engine.jobs]
    assert [r.prompt.positive for r in requests] == ["a red fox", "an owl", "a wolf"]
    # Create's settings for what a line does not set; the line's own where it does.
    assert [r.sampling.steps for r in requests] == [7, 3, 7]
    assert {(r.prompt.negative, r.sampling.cfg_scale, r.size) for r in requests} == {
        ("blurry", 4.5, Size(64, 64))
    }
    assert len({r.sampling.seed for r in requests}) == 3  # no seed set: each line its own

    engine.finish(0, str(out / "1.png"))
    assert dialog.status.text().startswith("1/3 pictures")
    assert dialog.progress.value() == 1
    dialog.cancel_button.click()  # stopped after one picture
    assert engine.cancelled == [2, 3]  # the jobs not yet made
    dialog.wait_for_journal()

    again = FakeEngine()
    resumed = open_dialog(qtbot, again, out, batch)
    assert resumed.summary.text() == (
        "3 jobs, 3 pictures; 1 made before, the batch resumes after them; 1 bad lines are skipped."
    )
    resumed.start_button.click()
    assert [(r.prompt.positive, r.sampling.seed) for r, _ in again.jobs] == [
        (r.prompt.positive, r.sampling.seed) for r in requests[1:]
    ]  # the same pictures as before, less the one made


def test_a_file_that_cannot_be_read_is_a_sentence(qtbot, tmp_path):
    dialog = open_dialog(qtbot, FakeEngine(), tmp_path, tmp_path / "missing.txt")
    assert dialog.summary.text() == f"There is no batch file {tmp_path / 'missing.txt'}."
    assert not dialog.start_button.isEnabled()


def test_file_run_a_batch_opens_the_dialog_on_the_chosen_file(qtbot, window, batch, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(batch), ""))
    file_menu = window.menuBar().actions()[0].menu()
    action = next(a for a in file_menu.actions() if a.text() == "Run a Batch…")
    action.trigger()
    dialog = window.findChild(BatchDialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10_000)
    # Create has no model chosen here: every line says so, by number.
    assert dialog.problems.toPlainText().splitlines()[0] == (
        "line 1: No model: set --model on the line or on the command line."
    )
    dialog.cancel_button.click()
