"""`train --model gmm --sweep components=2-6 (+2)`: one training run per value, a batch.

Each run is the training `train` would run with that value, saved in --out as
`<name>-<setting>-<value>.safetensors` (the name defaults to `<family>-<data>-sweep`).
A journal in --out's `.batches` folder makes the sweep resumable: run the same command
again and finished runs are skipped, the run that was stopped continues from its
checkpoint. The first Ctrl-C stops the run at its step and writes its checkpoint; a
second one ends at once. With --cluster ADDRESS (or LATENTSTUDIO_CLUSTER) the runs train
on the Ray cluster's workers at once, each run's files landing in --out as a local
run's (engine.cluster.sweep); Ctrl-C stops every run in flight the same way. Each run
is then measured as the Lab measures a trained model (--no-measure skips it): one JSON
line per run on stdout, then a table with the best value marked. Exit: 0 done; 2 bad
input; 130 stopped (run it again to resume).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from engine.api.errors import BadInput, JobCancelled, UserFacingError
from engine.api.events import Event, Progress
from engine.api.model_names import check_model_name
from engine.api.sweep import read_sweep, split_sweep
from engine.cli_exit import EXIT_BAD_INPUT, EXIT_CANCELLED


def sweep_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Sweep")
    group.add_argument(
        "--sweep",
        metavar="NAME=RANGE",
        default=None,
        help="train once per value of one numeric setting: steps, seed, batch, lr or one "
        "of the family's own (components=2-6, lr=0.0005-0.002 [4], seed=0-3); ranges as "
        "an X/Y/Z plot's",
    )
    group.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="train the sweep's runs on a Ray cluster's workers: ray://HOST:10001, "
        "HOST:6379 on a node, or 'local' (default: $LATENTSTUDIO_CLUSTER; needs pip "
        "install .[cluster])",
    )
    group.add_argument(
        "--no-measure",
        dest="measure",
        action="store_false",
        help="skip measuring each run with the quality meter (no comparison figures)",
    )


def run_sweep_command(args: argparse.Namespace, build_request) -> int:
    """`build_request(args)` is train's own request, named after the sweep."""
    from engine.batch.batch_journal import BatchJournal, sweep_journal_path
    from engine.batch.lab_sweep import plan_runs

    try:
        name, text = split_sweep(args.sweep)
        sweep = read_sweep(args.model, name, text)
        if args.resume:
            raise BadInput(
                "A sweep makes its own runs and --resume continues one training: leave "
                "--resume out, and run the same sweep again to resume it."
            )
        data = args.data.rstrip("/").replace("\\", "/").split("/")[-1] or "folder"
        args.name = args.name or f"{args.model}-{data}-sweep"
        check_model_name(args.name)
        request = build_request(args)
        runs = plan_runs(request, sweep, Path(args.out).resolve(), args.name)
        for run in runs:
            run.request.validate()  # a run's name too long, a value refused: before torch
    except UserFacingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    journal = BatchJournal(sweep_journal_path(Path(args.out), args.name, sweep.name))
    if journal.warning:
        print(f"warning: {journal.warning}", file=sys.stderr)
    done = sum(run.key in journal.done for run in runs)
    print(
        f"Sweep of {sweep.name} over {len(runs)} values ({', '.join(sweep.words)})"
        + (f"; {done} done before, skipped." if done else "."),
        file=sys.stderr,
    )
    return _run(runs, sweep, journal, args)


def _run(runs, sweep, journal, args: argparse.Namespace) -> int:
    from engine.batch.lab_sweep import run_sweep, table_lines, verdict
    from engine.cluster.connect import chosen_address
    from engine.context import JobControl
    from engine.runtime import Runtime  # torch is imported here

    address = chosen_address(getattr(args, "cluster", None))  # or LATENTSTUDIO_CLUSTER
    control = JobControl()
    runtime = None
    previous = signal.signal(signal.SIGINT, _stop_then_interrupt(control))
    try:
        runtime = Runtime(device_preference=args.device)
        told = {
            "control": control,
            "measure": args.measure,
            "on_result": lambda result: print(json.dumps(result.data()), flush=True),
            "log": lambda line: print(line, file=sys.stderr, flush=True),
        }
        if address:
            from engine.cluster.sweep import run_sweep_on_cluster

            results = run_sweep_on_cluster(
                runs, sweep, journal, runtime, address, device=args.device, **told
            )
        else:
            results = run_sweep(runs, sweep, journal, runtime, emit=_progress, **told)
    except UserFacingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JobCancelled, KeyboardInterrupt) as exc:
        said = str(exc) if isinstance(exc, JobCancelled) and str(exc) else "Stopped."
        stopped = (
            "the stopped ones continue from their last checkpoints"
            if address
            else "the stopped one continues from its last checkpoint"
        )
        print(
            f"{said} Run the same command again to resume: finished runs are skipped, {stopped}.",
            file=sys.stderr,
        )
        return EXIT_CANCELLED
    finally:
        signal.signal(signal.SIGINT, previous)
        if runtime is not None:
            runtime.close()
    print()
    print("\n".join(table_lines(results)))
    print(verdict(results))
    return 0


def _stop_then_interrupt(control):
    """The first Ctrl-C stops the run at its step (its checkpoint is written); the
    second interrupts at once."""

    def handler(_signum, _frame) -> None:
        if control.stopped:
            raise KeyboardInterrupt
        print("\nStopping after this step (Ctrl-C again: at once)…", file=sys.stderr)
        control.stop()

    return handler


def _progress(event: Event) -> None:
    if isinstance(event, Progress) and sys.stderr.isatty():
        print(f"\r{event.step}/{event.total}", end="", file=sys.stderr, flush=True)
