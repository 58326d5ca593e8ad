"""The loop shape the command line's batches share (`batch`, `upscale`): the jobs the
journal does not list, with a "Resuming" line; each job's ending, here or on a Ray
cluster, as (index, outcome, or the sentence why it failed); a progress line on stderr;
and the ETA's wording. Each command keeps its own words for what ended (a JSON line per
picture, a bad line, a skipped image) and its own progress line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from engine.api.outcomes import Outcome
from engine.api.requests import Request
from engine.batch.batch_journal import BatchJournal

Job = TypeVar("Job")
# (index in the requests, the outcome or None, the sentence why not: "" when made)
Ending = tuple[int, Outcome | None, str]


def resume_todo(
    jobs: Sequence[Job],
    journal: BatchJournal,
    key: Callable[[Job], str],
    count: Callable[[Job], int],
    noun: str,
) -> list[Job]:
    """The jobs the journal does not list; a line on stderr when some were made before."""
    todo = [job for job in jobs if key(job) not in journal.done]
    total = sum(count(job) for job in jobs)
    made_before = total - sum(count(job) for job in todo)
    if made_before:
        print(f"Resuming: {made_before} of {total} {noun} were made before.", file=sys.stderr)
    return todo


def say(line: str) -> None:
    """A progress line on stderr, seen at once (stdout carries the JSON lines)."""
    print(line, file=sys.stderr, flush=True)


def local_endings(
    runtime, requests: Sequence[Request], failures: tuple[type[Exception], ...]
) -> Iterator[Ending]:
    """Each request run here in turn; one that raises one of `failures` (a sentence on
    that job alone) ends without an outcome and the next one runs."""
    from engine.cli import _report
    from engine.context import JobContext

    for index, request in enumerate(requests):
        try:
            outcome = runtime.run(request, JobContext(0, emit=_report, previews=False))
        except failures as exc:
            yield index, None, exc.message
            continue
        yield index, outcome, ""


def cluster_endings(
    requests: list[Request], address: str, args: argparse.Namespace
) -> Iterator[Ending]:
    """Every request at once on the Ray cluster, each as it ends (engine.cluster.batch);
    a job the cluster cancelled stops the batch as Ctrl-C does."""
    from engine.api.events import Cancelled, Failed
    from engine.cluster.batch import endings_on_cluster

    for index, event in endings_on_cluster(requests, address, args):
        if isinstance(event, Cancelled):
            raise KeyboardInterrupt
        if isinstance(event, Failed):
            yield index, None, event.message
        else:
            yield index, event.outcome, ""


def duration(seconds: float) -> str:
    """An ETA as the progress lines say it: seconds, minutes, then hours."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
