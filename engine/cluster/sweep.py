"""`train --sweep NAME=RANGE --cluster ADDRESS`: a Lab sweep's runs fanned out over a cluster.

The journal decides each run as a local sweep does (engine.batch.lab_sweep.begin_run):
one done before is skipped, one begun before continues from its checkpoint where that
is here (the state file travels with the run, by sha256, as a model does), the rest
start afresh. Every run left goes out at once; the scheduler keeps two in flight per
worker, and a worker lost mid-run has its run trained again on another. Each worker
trains in a scratch folder of its own and sends the run's files back as bytes; they
land in --out, where a local run writes them (engine.cluster.run_files), before the
run is journalled as done. Each run is then measured here, as a local sweep measures
it, and its JSON line printed in the sweep's order, so the lines and the table are a
local sweep's. Stop (the first Ctrl-C) ends every run in flight at its step: its
checkpoint comes back and lands as a finished run's files do, the journal keeps it
begun, and the same command run again continues it (on whichever worker) from there.
A second Ctrl-C cancels at once: those runs start again next time. A sweep over a
folder of images sends its images with its runs, each once per node
(engine.cluster.data_files), so a worker trains on the same images as here.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from engine.api.errors import JobCancelled, UserFacingError
from engine.api.events import ENDINGS, Event, Failed, Finished, Progress, Started
from engine.api.requests import TrainRequest
from engine.api.sweep import Sweep, value_word
from engine.batch.batch_journal import BatchJournal
from engine.batch.lab_sweep import (
    RunResult,
    Runtime,
    SweepRun,
    begin_run,
    end_run,
    measure_model,
)
from engine.cluster.data_files import data_folder
from engine.context import JobControl
from engine.data.folder import check_data_folder

POLL_S = 0.2  # short waits: Ctrl-C and Stop are heard


def run_sweep_on_cluster(
    runs: list[SweepRun],
    sweep: Sweep,
    journal: BatchJournal,
    runtime: Runtime,
    address: str,
    *,
    device: str = "auto",
    workers: Any = None,
    control: JobControl | None = None,
    measure: bool = True,
    on_result: Callable[[RunResult], None] = lambda _result: None,
    log: Callable[[str], None] = lambda _line: None,
) -> list[RunResult]:
    """The sweep's results in its order; `runtime` measures them here; `workers` are
    the WorkerOptions (default: one per GPU, or per node, on `device`). JobCancelled
    when `control` is stopped, UserFacingError with a run's sentence when one fails."""
    check_runs_remotely(runs)
    control = control or JobControl()
    results: dict[int, RunResult] = {}
    todo: dict[int, tuple[SweepRun, TrainRequest, str]] = {}
    for run in runs:
        begun = begin_run(run, sweep.name, journal, partial(_tell, log, _said(run, sweep, runs)))
        if isinstance(begun, RunResult):
            results[run.index] = begun
        else:
            todo[run.index] = (run, *begun)
    printer = _InOrder(on_result)
    heard: queue.Queue = queue.Queue()
    session = _open_session(address, device, workers, heard.put, log) if todo else None
    try:
        for index, (_run, request, _how) in todo.items():
            session.submit(index + 1, request)
        for index, result in sorted(results.items()):  # measured while the cluster trains
            _measured(runtime, runs[index], result, measure)
            printer.add(index, result)
        ended, stopping = set(results), False
        while len(ended) < len(runs):
            if control.stopped and not stopping:  # each run in flight ends at its step
                stopping = True
                for index in todo.keys() - ended:
                    session.stop(index + 1)
            event = _next(heard, control)
            if event is None:
                continue
            run = runs[event.job_id - 1]
            if _told(event, run, sweep, runs, log):
                continue
            ended.add(run.index)
            outcome = _outcome(event, run, sweep, stopping)
            if outcome is None or outcome.stopped_early:  # its checkpoint landed here
                stopping = True  # a run stopped on its worker stops the sweep, as here
                continue
            _, _, how = todo[run.index]
            result = end_run(run, sweep.name, journal, outcome, how)
            results[run.index] = _measured(runtime, run, result, measure)
            printer.add(run.index, result)
    finally:
        if session is not None:
            session.close()
    if stopping:
        raise JobCancelled("The sweep stopped; its runs in flight wrote their checkpoints here.")
    return [results[index] for index in range(len(runs))]


def check_runs_remotely(runs: list[SweepRun]) -> None:
    """BadInput, in the local loader's words, for a sweep over a folder of images that is
    none here (missing, a file, a system folder): its images are sent from here
    (engine.cluster.data_files), so there is nothing to send."""
    folder = data_folder(runs[0].request) if runs else None
    if folder is not None:
        check_data_folder(folder)


def _open_session(
    address: str, device: str, workers: Any, hear: Callable[[Event], None], log
) -> Any:
    from engine.cluster.connect import connect, reconnect
    from engine.cluster.pool import WorkerOptions
    from engine.cluster.session import ClusterSession

    connect(address)
    session = ClusterSession(
        lambda: None,  # a training saves no picture: its files land in its run folder
        lambda event: hear(event) if _heard(event) else None,
        lambda message: log(f"Ray cluster: {message}"),
        lambda: reconnect(address),
    )
    try:
        session.start_workers(workers or WorkerOptions(device_preference=device))
    except BaseException:
        session.close()
        raise
    return session


def _heard(event: Event) -> bool:
    """What the sweep acts on or tells: endings, starts, and the scheduler's messages."""
    if isinstance(event, Progress):
        return bool(event.message)
    return isinstance(event, (*ENDINGS, Started))


def _next(heard: queue.Queue, control: JobControl) -> Event | None:
    """The next event, or None after a short wait (so Stop and Ctrl-C are heard)."""
    if control.cancelled:
        raise JobCancelled("The sweep was cancelled; its runs in flight were too.")
    try:
        return heard.get(timeout=POLL_S)
    except queue.Empty:
        return None


def _told(event: Event, run: SweepRun, sweep: Sweep, runs: list[SweepRun], log) -> bool:
    """Log what is not an ending (a run started on a worker, a worker lost); True then."""
    if isinstance(event, Started):
        log(f"{_said(run, sweep, runs)}: on {event.worker}")
    elif isinstance(event, Progress):
        log(f"{_said(run, sweep, runs)}: {event.message}")
    return not isinstance(event, ENDINGS)


def _outcome(event: Event, run: SweepRun, sweep: Sweep, stopping: bool) -> Any:
    """A run's outcome (its files landed), None for a run cancelled before it began
    while the sweep stops; UserFacingError for a failed run, JobCancelled for one
    cancelled otherwise."""
    if isinstance(event, Finished):
        return event.outcome
    if isinstance(event, Failed):
        raise UserFacingError(event.message)
    if stopping:
        return None
    raise JobCancelled(f"The run {sweep.name}={value_word(run.value)} was cancelled.")


def _measured(runtime: Runtime, run: SweepRun, result: RunResult, measure: bool) -> RunResult:
    if measure:
        result.measured = measure_model(runtime, run.request, Path(result.path))
    return result


def _said(run: SweepRun, sweep: Sweep, runs: list[SweepRun]) -> str:
    return f"sweep: run {run.index + 1}/{len(runs)}, {sweep.name}={value_word(run.value)}"


def _tell(log: Callable[[str], None], said: str, how: str) -> None:
    log(said + how)


class _InOrder:
    """Results handed on in the sweep's order, each as soon as those before it are."""

    def __init__(self, on_result: Callable[[RunResult], None]) -> None:
        self._waiting: dict[int, RunResult] = {}
        self._next = 0
        self._on_result = on_result

    def add(self, index: int, result: RunResult) -> None:
        self._waiting[index] = result
        while self._next in self._waiting:
            self._on_result(self._waiting.pop(self._next))
            self._next += 1
