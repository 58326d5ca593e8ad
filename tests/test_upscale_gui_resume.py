"""The Upscale mode's batch resumes as the command line's does, through the same journal:
what `main.py upscale` made into the window's output folder is not made again, what the
window makes is not made again by the command line, and the progress bar gives the
whole batch's ETA."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

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
    window.generate()
    queued = [e.request for e in window.events if isinstance(e, Queued)]
    assert [r.image.path for r in queued if isinstance(r, UpscaleRequest)] == [str(images[2])]
    assert [e.status for e in panel.inputs.entries[:2]] == [EntryStatus.DONE] * 2
    assert "upscaled before" in panel.inputs.entries[0].detail
    qtbot.waitUntil(lambda: any(isinstance(e, Finished) for e in window.events), timeout=60_000)
    panel.wait_for_journal()
    assert {p: p.stat().st_mtime_ns for p in before} == before  # not made again
    assert len(list(out.rglob("*.png"))) == 3

    code, again, err = cli_upscale(capsys, out, *images)
    assert (code, again) == (0, []) and "Resuming: 3 of 3 images" in err
    # Another Upscale with the same settings has nothing left to do, and says so.
    assert window.generate() is None
    assert len([e for e in window.events if isinstance(e, Queued)]) == len(queued)
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
