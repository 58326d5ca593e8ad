"""Lab sweeps: `train --sweep NAME=RANGE` trains once per value, as a resumable batch.

The oracle for every run is a single training of that value, requested by hand (not
through the sweep's code); a stopped sweep is checked against the files it left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from engine.api.errors import BadInput, JobCancelled
from engine.api.events import Progress
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.api.sweep import read_sweep
from engine.batch.batch_journal import BatchJournal, sweep_journal_path
from engine.batch.lab_sweep import plan_runs, run_sweep
from engine.context import JobContext, JobControl
from main import main
from tests.test_cli import json_lines

GMM = Family("gmm")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def single_run(runtime, folder: Path, components: int, steps: int, seed: int) -> Path:
    """The oracle: one plain training of that many components."""
    output = folder / f"single-{components}.safetensors"
    request = TrainRequest(
        family=GMM,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, seed=seed),
        output=str(output),
        settings=(("components", str(components)),),
    )
    runtime.run(request, JobContext(1))
    return output


def same_weights(a: Path, b: Path) -> bool:
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_a_sweep_of_three_values_makes_the_three_single_trainings(cpu_runtime, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["train", "--model", "gmm", "--steps", "3", "--seed", "2", "--out", str(out)]
    assert main([*argv, "--sweep", "components=2-6 (+2)", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    runs = json_lines(printed)
    assert [run["value"] for run in runs] == [2, 4, 6]
    for run in runs:
        path = Path(run["checkpoint"])
        assert path == out / f"gmm-digits-sweep-components-{run['value']}.safetensors"
        assert run["step"] == 3
        assert same_weights(path, single_run(cpu_runtime, tmp_path, run["value"], 3, 2))
    # The table marks the run with the lowest held-out bits per dimension.
    best = min(runs, key=lambda run: run["held_out_bits_per_dim"])
    assert f"best: components={best['value']} (bits/dim" in printed
    cells = [line.split() for line in printed.splitlines() if not line.startswith("{")]
    marked = [row[0] for row in cells if row and row[0].rstrip("*").isdigit()]
    assert marked == [f"{r['value']}{'*' if r is best else ''}" for r in runs]


def test_a_stopped_sweep_resumes_without_redoing_finished_runs(cpu_runtime, tmp_path):
    out = tmp_path / "sweep"
    base = TrainRequest(
        family=GMM,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=6, seed=1),
        output=str(out / "unused.safetensors"),
    )
    sweep = read_sweep("gmm", "components", "2,3,4")
    runs = plan_runs(base, sweep, out, "s")
    journal_file = sweep_journal_path(out, "s", "components")

    # The first attempt is stopped at the first step the third run reports.
    control, current = JobControl(), {}

    def stop_in_third(event) -> None:
        if isinstance(event, Progress) and current.get("run") == 3:
            control.stop()

    with pytest.raises(JobCancelled):
        run_sweep(
            runs, sweep, BatchJournal(journal_file), cpu_runtime,
            emit=stop_in_third, control=control, measure=False,
            log=lambda line: current.update(run=int(line.split("run ")[1].split("/")[0])),
        )  # fmt: skip
    first, second, third = (run.output for run in runs)
    kept = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (first, second)}
    with safe_open(str(third.with_suffix(".train.safetensors")), "pt") as state:
        stopped_at = json.loads(state.metadata()["latentstudio-training"])["steps_done"]
    assert 0 < stopped_at < 6

    # Run again: only the third trains, continuing from its checkpoint.
    asked: list[TrainRequest] = []

    class Spy:
        def run(self, request, ctx):
            asked.append(request)
            return cpu_runtime.run(request, ctx)

    results = run_sweep(runs, sweep, BatchJournal(journal_file), Spy(), measure=False)
    assert [r.how for r in results] == ["done before", "done before", "resumed"]
    assert [Path(r.path) for r in results] == [first, second, third]
    assert [Path(r.output) for r in asked] == [third]
    assert asked[0].resume_from == str(third.with_suffix(".train.safetensors"))
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (first, second)} == kept
    assert results[2].step == 6
    for run in runs:
        assert same_weights(run.output, single_run(cpu_runtime, tmp_path, run.value, 6, 1))


def test_a_file_the_journal_never_saw_begin_is_not_resumed_from(cpu_runtime, tmp_path):
    """A stale checkpoint under a run's name (another training's) is trained over."""
    base = TrainRequest(
        family=GMM, preset="digits", dataset=DatasetRef("digits"),
        training=Training(steps=2, seed=4), output=str(tmp_path / "x.safetensors"),
    )  # fmt: skip
    sweep = read_sweep("gmm", "components", "3")
    (run,) = plan_runs(base, sweep, tmp_path, "s")
    stale = single_run(cpu_runtime, tmp_path, 5, 1, 9)
    for suffix in (".safetensors", ".train.safetensors", ".json"):
        run.output.with_suffix(suffix).write_bytes(stale.with_suffix(suffix).read_bytes())
    journal = BatchJournal(sweep_journal_path(tmp_path, "s", "components"))
    (result,) = run_sweep([run], sweep, journal, cpu_runtime, measure=False)
    assert result.how == "trained"
    assert same_weights(run.output, single_run(cpu_runtime, tmp_path, 3, 2, 4))


@pytest.mark.parametrize(
    ("family", "name", "text", "said"),
    [
        ("gmm", "covariance", "1-3", "steps, seed, components, rank, reg_covar; 'covariance'"),
        ("gmm", "lr", "0.1", "steps, seed, components, rank, reg_covar; 'lr' is not"),
        ("vae", "beta", "1", "steps, batch, lr, seed; 'beta' is not one of them"),
        ("gmm", "components", "2-x", "'2-x' is not a whole number or a range"),
        ("gmm", "components", "0-2", "components (mixture components) is 1 to 1000, not 0"),
        ("gmm", "components", "1-3, 2", "gives components 2 twice"),
        ("gmm", "reg_covar", "5-1", "gives no values"),
        ("vae", "lr", "0.001-0.002 [2000]", "the most is 1000"),
    ],
)
def test_a_bad_setting_or_range_is_refused_with_a_sentence(family, name, text, said):
    with pytest.raises(BadInput) as refused:
        read_sweep(family, name, text)
    assert said in refused.value.message


def test_the_command_refuses_a_bad_sweep_before_training(tmp_path, capsys):
    argv = ["train", "--model", "gmm", "--out", str(tmp_path), "--sweep", "covariance=1-2"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "A GMM sweep varies one of its numeric training settings" in err
    assert list(tmp_path.iterdir()) == []  # nothing started, no journal


def test_float_values_name_their_files_and_reach_the_run_exactly():
    sweep = read_sweep("gmm", "reg_covar", "0.001-0.003 [3]")
    base = TrainRequest(
        family=GMM, preset="digits", dataset=DatasetRef("digits"),
        output="/m/x.safetensors", settings=(("reg_covar", "0.5"), ("rank", "4")),
    )  # fmt: skip
    runs = plan_runs(base, sweep, Path("/m"), "g")
    assert [run.output.name for run in runs] == [
        "g-reg_covar-0.001.safetensors",
        "g-reg_covar-0.002.safetensors",
        "g-reg_covar-0.003.safetensors",
    ]
    for run, value in zip(runs, (0.001, 0.002, 0.003), strict=True):
        settings = dict(run.request.settings)
        assert settings["rank"] == "4"
        assert float(settings["reg_covar"]) == pytest.approx(value, rel=1e-12)
