"""`train --sweep --cluster`: a Lab sweep's runs trained on a real local Ray cluster (two CPU
actors, no dashboard) equal the same sweep run here: the same JSON lines, the same files
in the same run folder, the same tensors; nothing is left in the workers' scratch; a
second run of the sweep skips every run; a file name a worker sends back that would
leave the run's folder is refused before anything is written. The oracle is the local
sweep (engine.batch.lab_sweep.run_sweep on the local runtime) and safetensors' reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.outcomes import ModelOutcome
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.api.sweep import read_sweep
from engine.batch.batch_journal import BatchJournal, sweep_journal_path
from engine.batch.lab_sweep import plan_runs, run_sweep
from engine.cluster.run_files import land_run
from main import main

GMM = Family("gmm")
SWEEP = ("components", "2-6 (+2)")


def planned(folder: Path, steps: int = 3):
    base = TrainRequest(
        family=GMM, preset="digits", dataset=DatasetRef("digits"),
        training=Training(steps=steps, seed=2), output=str(folder / "unused.safetensors"),
    )  # fmt: skip
    sweep = read_sweep("gmm", *SWEEP)
    journal = BatchJournal(sweep_journal_path(folder, "s", sweep.name))
    return plan_runs(base, sweep, folder, "s"), sweep, journal


def lines_without_paths(results) -> list[dict]:
    return [{k: v for k, v in r.data().items() if k != "checkpoint"} for r in results]


def run_files(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in folder.iterdir() if p.is_file()}


def test_a_sweep_on_two_workers_equals_the_same_sweep_here_and_runs_once(
    cluster, cpu_runtime, worker_threads, tmp_path
):
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.sweep import run_sweep_on_cluster

    runs, sweep, journal = planned(tmp_path / "here")
    here = run_sweep(runs, sweep, journal, cpu_runtime)

    said: list[str] = []
    cache = tmp_path / "worker-cache"
    options = WorkerOptions(2, 0.5, "cpu", str(cache))
    runs, sweep, journal = planned(tmp_path / "there")
    printed = []
    there = run_sweep_on_cluster(
        runs, sweep, journal, cpu_runtime, cluster,
        workers=options, on_result=printed.append, log=said.append,
    )  # fmt: skip

    assert printed == there  # in the sweep's order, as a local sweep prints them
    assert lines_without_paths(there) == lines_without_paths(here)
    assert "held_out_bits_per_dim" in there[0].measured
    for result, run in zip(there, runs, strict=True):
        assert Path(result.path) == run.output  # where a local run of it writes
    local, remote = run_files(tmp_path / "here"), run_files(tmp_path / "there")
    assert sorted(remote) == sorted(local)
    assert {Path(n).suffix for n in remote} == {".safetensors", ".json"} and len(remote) == 9
    for name, path in remote.items():
        if name.endswith(".json"):
            assert json.loads(path.read_text()) == json.loads(local[name].read_text())
            continue
        a, b = load_file(path), load_file(local[name])
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # Both actors trained, and neither kept anything but its model cache.
    assert len({line.rsplit(": on ", 1)[1] for line in said if ": on " in line}) == 2
    assert list((cache / "cluster-scratch").iterdir()) == []
    assert not any(p.name.startswith(".") for p in (tmp_path / "there").iterdir() if p.is_file())

    # The same sweep again: every run is done, nothing is trained (no worker is started).
    before = {name: path.stat().st_mtime_ns for name, path in remote.items()}
    runs, sweep, journal = planned(tmp_path / "there")
    again = run_sweep_on_cluster(runs, sweep, journal, cpu_runtime, "ray://nowhere:1")
    assert [r.how for r in again] == ["done before"] * 3
    assert lines_without_paths(again) == [
        {**line, "run": "done before"} for line in lines_without_paths(there)
    ]
    assert {n: p.stat().st_mtime_ns for n, p in run_files(tmp_path / "there").items()} == before


def test_stop_brings_the_checkpoints_home_and_the_sweep_continues_them_on_a_worker(
    cluster, cpu_runtime, worker_threads, tmp_path
):
    """Stop ends the runs in flight at their step; their checkpoints land here; the same
    sweep run again ships each checkpoint to a worker, which continues it to the same
    weights an uninterrupted local sweep reaches."""
    from engine.api.errors import JobCancelled
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.sweep import run_sweep_on_cluster
    from engine.context import JobControl

    steps = 40
    runs, sweep, journal = planned(tmp_path / "here", steps)
    here = run_sweep(runs, sweep, journal, cpu_runtime, measure=False)

    options = WorkerOptions(2, 0.5, "cpu", str(tmp_path / "cache"))
    control = JobControl()

    def stop_once_started(line: str) -> None:
        if ": on " in line:
            control.stop()

    runs, sweep, journal = planned(tmp_path / "there", steps)
    with pytest.raises(JobCancelled):
        run_sweep_on_cluster(
            runs, sweep, journal, cpu_runtime, cluster, workers=options,
            control=control, measure=False, log=stop_once_started,
        )  # fmt: skip
    stopped = {}
    for run in runs:
        state = run.output.with_suffix(".train.safetensors")
        with safe_open(str(state), "pt") as fh:
            stopped[run.value] = json.loads(fh.metadata()["latentstudio-training"])["steps_done"]
    assert all(0 <= step < steps for step in stopped.values()), stopped

    runs, sweep, journal = planned(tmp_path / "there", steps)
    there = run_sweep_on_cluster(
        runs, sweep, journal, cpu_runtime, cluster, workers=options, measure=False
    )
    assert [r.how for r in there] == ["resumed"] * 3
    assert lines_without_paths(there) == [
        {**line, "run": "resumed"} for line in lines_without_paths(here)
    ]
    for run in runs:
        mine = load_file(run.output)
        theirs = load_file(tmp_path / "here" / run.output.name)
        assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
        record = json.loads(run.output.with_suffix(".json").read_text())
        # The record names the state file here, as a local resumed run's does.
        assert record["meta"]["resumed_from"] == str(run.output.with_suffix(".train.safetensors"))
    assert list((tmp_path / "cache" / "cluster-scratch").iterdir()) == []


def test_a_worker_killed_mid_run_has_its_runs_trained_again_on_the_other(
    cluster, cpu_runtime, worker_threads, tmp_path, monkeypatch
):
    from engine.cluster import sweep as cluster_sweep
    from engine.cluster.pool import WorkerOptions

    steps = 40
    runs, sweep, journal = planned(tmp_path / "here", steps)
    here = run_sweep(runs, sweep, journal, cpu_runtime, measure=False)

    sessions = []
    opened = cluster_sweep._open_session
    monkeypatch.setattr(
        cluster_sweep, "_open_session", lambda *a: sessions.append(opened(*a)) or sessions[-1]
    )
    killed: list[str] = []

    def kill_the_first_to_start(line: str) -> None:
        if ": on " in line and not killed:
            (worker,) = [w for w in sessions[0].scheduler.workers if line.endswith(w.name)]
            killed.append(worker.name)
            ray = pytest.importorskip("ray")
            ray.kill(worker.actor)

    runs, sweep, journal = planned(tmp_path / "there", steps)
    options = WorkerOptions(2, 0.5, "cpu", str(tmp_path / "cache"))
    there = cluster_sweep.run_sweep_on_cluster(
        runs, sweep, journal, cpu_runtime, cluster, workers=options, measure=False,
        log=kill_the_first_to_start,
    )  # fmt: skip
    assert killed
    assert lines_without_paths(there) == lines_without_paths(here)
    # The killed worker's scratch folder went when the other next began a run.
    assert list((tmp_path / "cache" / "cluster-scratch").iterdir()) == []
    for run in runs:
        mine = load_file(run.output)
        theirs = load_file(tmp_path / "here" / run.output.name)
        assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


@pytest.mark.parametrize(
    "name",
    [
        "../run.safetensors",
        "../../escaped.json",
        "/tmp/run.json",
        "sub/run.json",
        "..\\run.json",
        "C:run.json",
        "other.safetensors",
        "run",
        "run.",
        ".run.json",
    ],
)
def test_a_file_name_that_is_not_the_runs_own_is_refused_and_nothing_lands(tmp_path, name):
    folder = tmp_path / "runs" / "sweep"
    folder.mkdir(parents=True)
    output = folder / "run.safetensors"
    files = (("run.safetensors", b"model"), (name, b"hostile"), ("run.json", b"{}"))
    with pytest.raises(BadInput) as refused:
        land_run(ModelOutcome(str(output), 3, files=files), output)
    assert f"sent back a file named {name!r} for the training run.safetensors" in (
        refused.value.message
    )
    assert "none of them was written" in refused.value.message
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_runs_own_files_land_whole_the_state_first(tmp_path):
    output = tmp_path / "run.v2.safetensors"
    files = (
        ("run.v2.json", b"{}"),
        ("run.v2.safetensors", b"model"),
        ("run.v2.train.safetensors", b"state"),
    )
    landed = land_run(ModelOutcome("elsewhere", 3, files=files), output)
    assert landed == ModelOutcome(str(output), 3)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == dict(files)


def test_a_returned_list_without_the_model_lands_nothing(tmp_path):
    output = tmp_path / "run.safetensors"
    with pytest.raises(BadInput, match="no model file for the training run.safetensors"):
        land_run(ModelOutcome(str(output), 3, files=(("run.json", b"{}"),)), output)
    assert list(tmp_path.iterdir()) == []


def test_cluster_is_refused_for_a_single_training_and_a_folder_that_is_none(tmp_path, capsys):
    """A folder sweep runs on the cluster (tests/test_cluster_sweep_folder.py); one over a
    folder that is not here is refused in the local loader's words, before a run begins."""
    argv = ["train", "--model", "gmm", "--out", str(tmp_path / "o"), "--cluster", "local"]
    assert main(argv) == 2
    assert "--cluster trains a sweep's runs on a cluster" in capsys.readouterr().err
    images = tmp_path / "pictures"
    argv += ["--data", str(images), "--sweep", "components=2,3"]
    assert main(argv) == 2
    assert f"There is no data set called {str(images)!r}" in capsys.readouterr().err
    images.write_text("a file")
    assert main(argv) == 2
    assert f"{images} is not a folder of images." in capsys.readouterr().err
    assert not (tmp_path / "o" / ".batches").exists()  # refused before a run was begun


def test_the_environment_s_cluster_leaves_a_single_training_here(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LATENTSTUDIO_CLUSTER", "ray://nowhere.invalid:1")
    argv = ["train", "--model", "gmm", "--steps", "1", "--out", str(tmp_path), "--name", "one"]
    assert main([*argv, "--device", "cpu"]) == 0
    assert (tmp_path / "one.safetensors").is_file()
