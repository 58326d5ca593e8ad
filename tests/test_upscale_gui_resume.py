"""The Upscale mode's batch resumes as the command line's does, through the same journal:
what `main.py upscale` made into the window's output folder is not made again, what the
window makes is not made again by the command line, and the progress bar gives the
whole batch's ETA."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

import main
from engine.api.events import Finished, Queued
from engine.api.requests import UpscaleRequest
from gui.viewmodels.upscale import BatchProgress, EntryStatus
from tests.upscalers import photo_like, write_png

UPSCALE = 3


def cli_upscale(capsys, out: Path, *images: Path) -> tuple[int, list[dict], str]:
    argv = ["upscale", "--model", "lanczos", "--scale", "4", *map(str, images), "--out", str(out)]
    code = main.main(argv)
    captured = capsys.readouterr()
    return code, [json.loads(x) for x in captured.out.splitlines() if x[:1] == "{"], captured.err


def queued_upscales(window) -> list[UpscaleRequest]:
    return [
        e.request
        for e in window.events
        if isinstance(e, Queued) and isinstance(e.request, UpscaleRequest)
    ]


def test_the_window_resumes_a_batch_the_command_line_began_and_the_other_way_round(
    qtbot, window, settings, tmp_path, capsys
):
    images = [
        write_png(tmp_path / f"{n}.png", photo_like(8, 6, seed=i)) for i, n in enumerate("abc")
    ]
    out = settings.output_dir
    code, made, _ = cli_upscale(capsys, out, *images[:2])
    assert code == 0 and len(made) == 2
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}

    window.set_mode(UPSCALE)
    panel = window.upscale_panel
    panel.add_paths(images)
    panel.select_model("lanczos")
    panel.x4.setChecked(True)
    window.generate()  # the journal is read off the GUI thread; then the job starts
    qtbot.waitUntil(lambda: len(queued_upscales(window)) == 1, timeout=30_000)
    queued = queued_upscales(window)
    assert [r.image.path for r in queued] == [str(images[2])]
    assert [e.status for e in panel.inputs.entries[:2]] == [EntryStatus.DONE] * 2
    assert "upscaled before" in panel.inputs.entries[0].detail
    qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in window.events), timeout=60_000)
    panel.wait_for_journal()
    assert {p: p.stat().st_mtime_ns for p in before} == before  # not made again
    assert len(list(out.rglob("*.png"))) == 3

    code, again, err = cli_upscale(capsys, out, *images)
    assert (code, again) == (0, []) and "Resuming: 3 of 3 images" in err
    # Another Upscale with the same settings has nothing left to do, and says so.
    with qtbot.waitSignal(panel.notice, timeout=30_000) as said:
        assert window.generate() is None
    assert said.args[0].startswith("Every image in the list was upscaled before")
    panel.wait_for_journal()
    assert queued_upscales(window) == queued
    assert Image.open(next(out.rglob("*.png"))).size == (32, 24)


def test_the_whole_batchs_eta_is_its_time_per_job_times_the_jobs_left():
    batch = BatchProgress()
    for _ in range(5):
        batch.submitted(now=100.0)
    assert batch.eta_s(now=101.0) is None  # nothing ended yet: no guess
    batch.job_ended(failed=False)
    batch.job_ended(failed=True)
    assert batch.eta_s(now=110.0) == 15.0  # 5 s a job, 3 left
    for _ in range(3):
        batch.job_ended(failed=False)
    assert batch.eta_s(now=130.0) is None  # over


def test_pressing_upscale_on_a_folder_reads_no_file_on_the_gui_thread(
    qtbot, window, settings, tmp_path, capsys, monkeypatch
):
    """The journal and each file's size and time are read off the GUI thread (every
    os.stat, open, scandir and Path.exists made on it is counted from the press until
    the jobs are queued); the batch then lands the files the command line makes."""
    from tests.test_gui_thread_disk import DiskCalls

    folder = tmp_path / "photos"
    folder.mkdir()
    images = [write_png(folder / f"{n}.png", photo_like(8, 6, seed=n)) for n in range(4)]
    out = settings.output_dir
    code, made, _ = cli_upscale(capsys, out, *images[:1])  # one made before: a journal to read
    assert code == 0 and len(made) == 1
    window.set_mode(UPSCALE)
    panel = window.upscale_panel
    panel.add_paths([folder])
    qtbot.waitUntil(lambda: len(panel.inputs.entries) == 4)  # listed off the GUI thread
    panel.select_model("lanczos")
    panel.x4.setChecked(True)
    qtbot.wait(200)  # the thumbnails are read (off the GUI thread) before the press
    disk = DiskCalls(monkeypatch)
    disk.recording = True
    qtbot.mouseClick(panel.upscale_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(queued_upscales(window)) == 3, timeout=30_000)
    disk.recording = False
    assert disk.calls == [], "\n".join(disk.calls)
    assert panel.inputs.entries[0].status is EntryStatus.DONE
    finished = lambda: [e for e in window.events if isinstance(e, Finished)]  # noqa: E731
    qtbot.waitUntil(lambda: len(finished()) == 3, timeout=60_000)
    panel.wait_for_journal()
    # The command line, into another folder, makes the same pictures of the same inputs.
    code, again, _ = cli_upscale(capsys, tmp_path / "cli", *images)
    assert code == 0 and len(again) == 4
    by_source = {line["source"]: line["path"] for line in again}
    asked = {e.job_id: e.request for e in window.events if isinstance(e, Queued)}
    window_made = {asked[e.job_id].image.path: e.outcome.images[0].path for e in finished()}
    assert sorted(window_made) == [str(p) for p in images[1:]]
    for source, path in window_made.items():
        assert np.array_equal(pixels(path), pixels(by_source[source]))
    code, none_left, err = cli_upscale(capsys, out, *images)  # the journal lists all four
    assert (code, none_left) == (0, []) and "Resuming: 4 of 4 images" in err


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
