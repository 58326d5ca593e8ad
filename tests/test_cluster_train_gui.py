"""The Train tab on a window connected to a real local Ray cluster (two CPUs, one CPU
actor): a sweep's runs train on the worker, their files land where a local run's do with
the same tensors as the same runs trained here, and the tab lists both; a single
training stays on this computer, the status bar saying so once; a sweep over a folder
of images goes to the workers too (its images sent with it:
tests/test_cluster_sweep_folder.py), one over a folder that is none here stays here,
where the loader says so. The oracle is the local runtime (the code a local lane runs)
and safetensors' reader."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt
from safetensors.torch import load_file

from engine.api.events import DeviceInfo, Failed, Paused, Progress, Queued, Resumed, Started
from engine.api.kinds import Family
from engine.api.parts import DatasetRef
from engine.api.requests import TrainRequest
from engine.context import JobContext

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install .[cluster]")

from engine.cluster.pool import WorkerOptions  # noqa: E402
from engine.cluster.request_files import runs_remotely, stays_here_note  # noqa: E402
from tests.test_gui_thread_disk import DiskCalls  # noqa: E402

LAB = 1
WAIT_MS = 240_000


@pytest.fixture
def window(qtbot, settings, models_dir, cluster, tmp_path):
    """The real window on a RayEngine with one CPU worker, its cache in tmp_path."""
    from engine.cluster.ray_engine import RayEngine
    from gui.main_window import MainWindow

    options = WorkerOptions(1, 0.5, "cpu", str(tmp_path / "worker-cache"))
    engine = RayEngine(settings.output_dir, cluster, "cpu", options)
    window = MainWindow(engine, settings)
    window.events = []
    engine.event.connect(window.events.append)
    qtbot.addWidget(window)
    window.show()
    engine.start()
    assert engine.connected.wait(120), engine.connect_error
    yield window
    window.close_now()


def train_tab(window, steps: int = 3):
    window.set_mode(LAB)
    lab = window.lab_panel
    lab.tabs.setCurrentWidget(lab.train)
    train = lab.train
    train.family.setCurrentIndex(train.family.findData("gmm"))
    train.steps.setValue(steps)
    return lab, train


def of(window, cls) -> list:
    return [e for e in window.events if isinstance(e, cls)]


def test_a_sweep_trains_on_the_worker_and_its_files_land_as_local_runs_do(
    qtbot, window, models_dir, cpu_runtime, tmp_path
):
    lab, train = train_tab(window)
    train.sweep.enabled.setChecked(True)
    train.sweep.setting.setCurrentIndex(train.sweep.setting.findText("components"))
    train.sweep.range.setText("2, 3")
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.status.text().startswith("Sweep done"), timeout=WAIT_MS)
    assert train.status.text().startswith("Sweep done: 2 of 2 runs trained."), train.status.text()

    queued = [e for e in of(window, Queued) if isinstance(e.request, TrainRequest)]
    assert len(queued) == 2
    started = {e.job_id: e.worker for e in of(window, Started)}
    for event in queued:
        assert started[event.job_id].startswith("worker 1")  # the cluster's, named
        assert window.jobs.get(event.job_id).worker == started[event.job_id]  # the queue's
    paths = [Path(e.request.output) for e in queued]
    assert [p.name.rsplit("-", 2)[1:] for p in paths] == [
        ["components", "2.safetensors"],
        ["components", "3.safetensors"],
    ]
    listed = [str(lab.model_box.itemData(i)) for i in range(lab.model_box.count())]
    for event, path in zip(queued, paths, strict=True):
        assert path.parent == models_dir and path.is_file() and path.with_suffix(".json").is_file()
        assert any(str(path) in item for item in listed)  # the Train tab lists each run
        # The same run trained here, by the local runtime, into a folder of its own (with
        # previews, as a worker runs it).
        here = tmp_path / "here" / path.name
        cpu_runtime.run(replace(event.request, output=str(here)), JobContext(0))
        mine, theirs = load_file(path), load_file(here)
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert not any(p.name.startswith(".") for p in models_dir.iterdir())  # no half file
    assert list((tmp_path / "worker-cache" / "cluster-scratch").iterdir()) == []


def test_a_single_training_on_the_cluster_window_stays_here(qtbot, window, models_dir):
    lab, train = train_tab(window, steps=2)
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.status.text().startswith("Finished:"), timeout=WAIT_MS)
    ((job_id, request),) = [
        (e.job_id, e.request) for e in of(window, Queued) if isinstance(e.request, TrainRequest)
    ]
    assert [e.worker for e in of(window, Started) if e.job_id == job_id] == [""]
    assert Path(request.output).is_file()
    scheduler = window.client.session.scheduler  # it has the meter's score, not the run
    assert job_id not in scheduler.job_ids()


def test_a_folder_sweep_goes_to_the_workers_and_a_single_training_stays_saying_so(
    qtbot, window, tmp_path, monkeypatch
):
    folder = tmp_path / "faces"
    folder.mkdir()
    for index in range(4):
        Image.new("RGB", (8, 8), (index * 60, 0, 0)).save(folder / f"{index}.png")
    base = TrainRequest(
        family=Family("gmm"), preset="custom", dataset=DatasetRef(str(folder)),
        output=str(tmp_path / "m" / "run.safetensors"), image_size=16, sweep_run=True,
    )  # fmt: skip
    assert runs_remotely(base) and runs_remotely(replace(base, dataset=DatasetRef("digits")))
    assert stays_here_note(base) == ""
    # A folder that is none here: routed without the disk (the GUI thread asks), then
    # ended in the loader's words when its files are gathered, before a worker is asked.
    missing = tmp_path / "none"
    disk = DiskCalls(monkeypatch)
    disk.recording = True
    gone = window.client.submit(replace(base, dataset=DatasetRef(str(missing))))
    disk.recording = False
    assert disk.calls == []
    qtbot.waitUntil(lambda: any(e.job_id == gone.job_id for e in of(window, Failed)))
    failed = next(e for e in of(window, Failed) if e.job_id == gone.job_id)
    assert failed.message.startswith(f"There is no data set called {str(missing)!r}")
    assert not [e for e in of(window, Started) if e.job_id == gone.job_id]
    assert gone.job_id not in window.client.session.scheduler.job_ids()
    single = replace(base, dataset=DatasetRef("digits"), preset="digits", sweep_run=False)
    assert not runs_remotely(single)
    handles = [window.client.submit(single) for _ in range(3)]  # submitted together
    for handle in handles:  # what is said matters here, not the trainings
        window.client.cancel(handle.job_id)
    qtbot.waitUntil(lambda: "single training" in window.status.note_label.text())
    assert stays_here_note(single) in window.status.note_label.text()
    assert window.status.device_label.text().startswith("Ray cluster · ")  # the state stays
    assert window.client.session.scheduler.job_ids() == []
    qtbot.waitUntil(lambda: all(h.ended for h in handles))
    notes = [e for e in of(window, DeviceInfo) if "single training" in e.note]
    assert len(notes) == 1  # once for the three, not once each


def start_long_sweep(qtbot, window):
    """A 2-run sweep of a million steps each, started on the Train tab; returns the tab
    once a worker has made its second step."""
    _lab, train = train_tab(window, steps=1_000_000)
    train.sweep.enabled.setChecked(True)
    train.sweep.setting.setCurrentIndex(train.sweep.setting.findText("components"))
    train.sweep.range.setText("2, 3")
    qtbot.mouseClick(train.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(e.step > 1 for e in of(window, Progress)), timeout=WAIT_MS)
    return train


def test_stop_ends_the_workers_runs_at_their_step_and_their_checkpoints_land(
    qtbot, window, models_dir
):
    """The worker trains one run at a time (the second waits on it): Stop ends the one
    running at its step, its checkpoint landing here, and the waiting one before a step."""
    from engine.api.events import Finished

    train = start_long_sweep(qtbot, window)
    qtbot.mouseClick(train.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.status.text().startswith("Sweep done"), timeout=WAIT_MS)
    runs = [e.outcome for e in of(window, Finished) if getattr(e.outcome, "stopped_early", 0)]
    assert runs and all(0 <= o.step < 1_000_000 for o in runs), runs
    first = Path(runs[0].path)
    assert runs[0].step > 1 and first.parent == models_dir and first.is_file()
    assert first.with_suffix(".train.safetensors").is_file()  # it can be continued
    assert not [e for e in of(window, Finished) if getattr(e.outcome, "step", 0) == 1_000_000]


def test_pause_holds_a_workers_run_at_its_step_and_resume_lets_it_go_on(qtbot, window):
    """The Train tab's Pause reaches the run on the worker: Paused comes back (the button
    says Resume), no step is made while paused, and after Resume the run steps on."""
    train = start_long_sweep(qtbot, window)
    runs = {e.job_id for e in of(window, Queued) if isinstance(e.request, TrainRequest)}

    def steps(since: type | None = None) -> list[int]:
        """The runs' Progress steps (after the last `since` event)."""
        marks = [i for i, e in enumerate(window.events) if since and isinstance(e, since)]
        later = window.events[marks[-1] + 1 :] if marks else window.events
        return [e.step for e in later if isinstance(e, Progress) and e.job_id in runs]

    (job_id,) = {e.job_id for e in of(window, Progress) if e.job_id in runs}  # one at a time
    qtbot.mouseClick(train.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.pause_button.text() == "Resume", timeout=WAIT_MS)
    assert [e.job_id for e in of(window, Paused)] == [job_id]
    paused_at = max(steps())
    for _ in range(10):  # the GUI thread hears what comes meanwhile: nothing steps
        qtbot.wait(100)
        assert steps(Paused) == []
    qtbot.mouseClick(train.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.pause_button.text() == "Pause", timeout=WAIT_MS)
    assert [e.job_id for e in of(window, Resumed)] == [job_id]
    qtbot.waitUntil(lambda: any(s > paused_at for s in steps(Resumed)), timeout=WAIT_MS)
    qtbot.mouseClick(train.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.status.text().startswith("Sweep done"), timeout=WAIT_MS)
