"""`main.py compare --data digits`: the Lab timeline from the command line.

Every Lab family in historical order: its year, paper and idea, then one table of the
figures measured on the same held-out split (engine.quality.timeline_table). The meter's
figures come from each bundled model's record; likelihood, sampling time and parameters
are measured now, one job per model, on the same runtime as the app's.
"""

from __future__ import annotations

import argparse
import json
import time

from engine.cli_args import device_argument
from engine.cli_exit import exit_code
from engine.context import JobContext
from engine.quality.timeline_table import (
    TIMELINE_SAMPLES,
    TimelineRow,
    likelihood_note,
    table_lines,
    timeline_rows,
)

DATA_SETS = ("digits", "shapes", "emoji")


def compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", choices=DATA_SETS, default="digits", help="the data set")
    parser.add_argument(
        "--json", action="store_true", help="one JSON line per family instead of a table"
    )
    device_argument(parser)


def run_compare(args: argparse.Namespace) -> int:
    return exit_code(lambda: _print_timeline(args))


def _print_timeline(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    rows = measured_rows(timeline_rows(args.data), args.device)
    if args.json:
        for row in rows:
            print(json.dumps(row_data(row)), flush=True)
        return 0
    for row in rows:
        print(f"{row.year}  {row.title:<9} {row.paper}")
        print(f"{'':15} {row.idea}")
    print()
    print("\n".join(table_lines(rows)))
    print(f"\nmeasured in {time.perf_counter() - started:.1f} s; meter figures from 500 samples")
    return 0


def measured_rows(rows: list[TimelineRow], device: str = "auto") -> list[TimelineRow]:
    """Each row with a bundled model, measured by its family's score runner."""
    from engine.api.parts import ModelRef
    from engine.api.requests import ScoreRequest
    from engine.runtime import Runtime  # torch is imported here

    runtime = Runtime(device_preference=device)
    try:
        measured = []
        for row in rows:
            if row.model is None:
                measured.append(row)
                continue
            request = ScoreRequest(
                model=ModelRef(row.family, row.model), count=TIMELINE_SAMPLES, meter=False
            )
            outcome = runtime.run(request, JobContext(0, previews=False))
            values = dict(zip(outcome.labels, (v[0] for v in outcome.vectors), strict=True))
            measured.append(row.with_values(values))
        return measured
    finally:
        runtime.close()


def row_data(row: TimelineRow) -> dict:
    return {
        "family": row.family.value,
        "title": row.title,
        "year": row.year,
        "paper": row.paper,
        "idea": row.idea,
        "model": row.model,
        "likelihood": row.likelihood.kind if row.likelihood else None,
        "likelihood_over": likelihood_note(row) or None,
        "bits_per_dim": row.bits_per_dim,
        **row.values,
    }
