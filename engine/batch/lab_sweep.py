"""Running a Lab sweep: one training run per value, journalled, then measured.

Each run is a plain TrainRequest (engine.api.sweep builds them), saved under a name that
says its value (`gmm-digits-sweep-components-4.safetensors`). The batch journal
(engine.batch.batch_journal) notes a run when it begins and when it is done: run the
same sweep again and a done run is skipped, a begun one continues from its checkpoint
(its `.train.safetensors`, written every `checkpoint_every` steps), and the rest start.
After each run the model is measured as the Lab measures a trained model (the quality
meter, with the family's held-out likelihood), so the runs can be compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from engine.api import families, untrusted_json
from engine.api.errors import JobCancelled
from engine.api.events import Event
from engine.api.outcomes import ModelOutcome, VectorsOutcome
from engine.api.parts import ModelRef
from engine.api.requests import ScoreRequest, TrainRequest
from engine.api.serialize import to_data
from engine.api.sweep import Number, Sweep, sweep_requests, value_word
from engine.batch.batch_journal import BatchJournal, request_key
from engine.context import JobContext, JobControl
from engine.models.common.modelfile import sidecar_path
from engine.train.state import state_path

# The figures a sweep's table shows, after the value and the steps, with their headings
# and whether a smaller one is better. The first the runs have decides the winner.
COLUMNS = (
    ("held_out_bits_per_dim", "bits/dim", True),
    ("held_out_bits_per_dim_bound", "bits/dim (bound)", True),
    ("held_out_bits_per_dim_estimate", "bits/dim (estimate)", True),
    ("recognisable", "recognisable", False),
    ("classes", "classes", False),
    ("diversity", "diversity", False),
    ("copies", "copies", True),
    ("realism", "realism", False),
)


@dataclass(frozen=True)
class SweepRun:
    index: int
    value: Number
    request: TrainRequest  # a fresh training (resuming is decided when it runs)
    key: str  # the journal's: the request as data

    @property
    def output(self) -> Path:
        return Path(self.request.output)


@dataclass
class RunResult:
    name: str
    value: Number
    path: str
    step: int
    losses: dict[str, float] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)
    how: str = "trained"  # "trained", "resumed" or "done before"

    def data(self) -> dict:
        """The run as one JSON line."""
        return {
            "setting": self.name,
            "value": self.value,
            "checkpoint": self.path,
            "step": self.step,
            "run": self.how,
            **{f"final_{k}": v for k, v in self.losses.items()},
            **self.measured,
        }


def plan_runs(request: TrainRequest, sweep: Sweep, folder: Path, base: str) -> list[SweepRun]:
    runs = []
    for index, (value, run) in enumerate(
        zip(sweep.values, sweep_requests(request, sweep, folder, base), strict=True)
    ):
        runs.append(SweepRun(index, value, run, request_key(to_data(run), 0, 0)))
    return runs


class Runtime(Protocol):
    """The part of engine.runtime.Runtime a sweep uses."""

    def run(self, request: Any, ctx: JobContext) -> Any: ...


def run_sweep(
    runs: list[SweepRun],
    sweep: Sweep,
    journal: BatchJournal,
    runtime: Runtime,
    *,
    emit: Callable[[Event], None] = lambda _event: None,
    control: JobControl | None = None,
    measure: bool = True,
    on_result: Callable[[RunResult], None] = lambda _result: None,
    log: Callable[[str], None] = lambda _line: None,
) -> list[RunResult]:
    """Every run the journal does not list as done, then each measured. Stop (`control`)
    ends the run at its step, its checkpoint written, and raises JobCancelled."""
    results = []
    control = control or JobControl()
    for run in runs:
        said = f"sweep: run {run.index + 1}/{len(runs)}, {sweep.name}={value_word(run.value)}"
        ctx = JobContext(0, emit=emit, control=control, previews=False)  # its own clock
        result = _train(run, sweep.name, journal, runtime, ctx, partial(_tell, log, said))
        if measure:
            result.measured = measure_model(runtime, run.request, Path(result.path))
        results.append(result)
        on_result(result)
    return results


def _tell(log: Callable[[str], None], said: str, how: str) -> None:
    log(said + how)


def _train(
    run: SweepRun,
    name: str,
    journal: BatchJournal,
    runtime: Runtime,
    ctx: JobContext,
    log: Callable[[str], None],
) -> RunResult:
    begun = begin_run(run, name, journal, log)
    if isinstance(begun, RunResult):
        return begun
    request, how = begun
    return end_run(run, name, journal, runtime.run(request, ctx), how)


def begin_run(
    run: SweepRun, name: str, journal: BatchJournal, log: Callable[[str], None]
) -> RunResult | tuple[TrainRequest, str]:
    """A run the journal lists as done (its result), or the request to run and how: from
    its checkpoint where the journal saw it begin and the checkpoint is there, else
    afresh (noted as begun). The cluster's sweep (engine.cluster.sweep) runs the same."""
    if run.key in journal.done and run.output.is_file():
        log(": done before")
        return _done_before(run, name)
    if run.key in journal.started and state_path(run.output).is_file():
        log(": continues from its checkpoint")
        return replace(run.request, resume_from=str(state_path(run.output))), "resumed"
    log("")
    journal.record_started(run.key, run.index)
    return run.request, "trained"


def end_run(run: SweepRun, name: str, journal: BatchJournal, outcome: Any, how: str) -> RunResult:
    """The run's result, noted as done; JobCancelled when it was stopped early."""
    assert isinstance(outcome, ModelOutcome)
    if outcome.stopped_early:
        raise JobCancelled(
            f"The sweep stopped at step {outcome.step} of its run {name}={value_word(run.value)}."
        )
    journal.record(run.key, run.index, [outcome.path])
    return RunResult(name, run.value, outcome.path, outcome.step, dict(outcome.metrics), how=how)


def _done_before(run: SweepRun, name: str) -> RunResult:
    """A run the journal lists as done: its step and last losses from its model's record."""
    meta: dict = {}
    try:
        record = untrusted_json.loads(sidecar_path(run.output).read_bytes())
        meta = record.get("meta", {}) if isinstance(record, dict) else {}
    except (OSError, ValueError):
        pass
    losses = meta.get("final_losses", {})
    losses = {str(k): float(v) for k, v in losses.items()} if isinstance(losses, dict) else {}
    return RunResult(
        name, run.value, str(run.output), int(meta.get("steps", 0)), losses, how="done before"
    )


def measure_model(runtime: Runtime, request: TrainRequest, path: Path) -> dict[str, float]:
    """The Lab's figures for a trained model: the meter's and the family's own."""
    score = ScoreRequest(model=ModelRef(request.family, str(path)))
    outcome = runtime.run(score, JobContext(0, previews=False))
    assert isinstance(outcome, VectorsOutcome)
    return dict(zip(outcome.labels, (v[0] for v in outcome.vectors), strict=True))


def winner(results: list[RunResult]) -> tuple[RunResult, str, str] | None:
    """The best run by the first figure every run has (held-out bits/dim where the family
    has one, else the meter's), with that figure's heading and its value as a word."""
    for key, heading, smaller in COLUMNS:
        values = [r.measured.get(key) for r in results]
        if values and all(v is not None and math.isfinite(v) for v in values):
            best = (min if smaller else max)(results, key=lambda r, k=key: r.measured[k])
            return best, heading, f"{best.measured[key]:.4g}"
    return None


def table_lines(results: list[RunResult]) -> list[str]:
    """The runs as a text table: the value, its steps, its last losses and the figures
    measured (those any run has), the winner marked with *."""
    loss_keys = list(dict.fromkeys(k for r in results for k in r.losses))
    figures = [(k, h) for k, h, _ in COLUMNS if any(k in r.measured for r in results)]
    name = results[0].name if results else "value"
    head = [name, "steps", *(f"last {k}" for k in loss_keys), *(h for _, h in figures)]
    best = winner(results)
    rows = []
    for r in results:
        mark = "*" if best is not None and best[0] is r else ""
        cells = [f"{value_word(r.value)}{mark}", f"{r.step:,}"]
        cells += [_cell(r.losses.get(k)) for k in loss_keys]
        cells += [_cell(r.measured.get(k)) for k, _ in figures]
        rows.append(cells)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return ["  ".join(c.rjust(w) for c, w in zip(head, widths, strict=True)), *lines]


def verdict(results: list[RunResult]) -> str:
    best = winner(results)
    if best is None:
        return "No figure was measured on every run, so none is marked best."
    run, heading, word = best
    return f"* best: {run.name}={value_word(run.value)} ({heading} {word})"


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def family_title(request: TrainRequest) -> str:
    return families.title_of(request.family)
