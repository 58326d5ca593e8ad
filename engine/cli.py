"""Running a command-line job: the same runtime as the app, without Qt.

Images: one JSON line per image written. Training: one JSON line per progress report,
then one with the checkpoint. Bad input: one `error: …` line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.api.errors import JobCancelled, UserFacingError
from engine.api.events import Event, Metrics, Progress
from engine.api.outcomes import ImagesOutcome, ModelOutcome, Outcome
from engine.commands import command
from engine.context import JobContext

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130


def _report(event: Event) -> None:
    if isinstance(event, Metrics):
        print(json.dumps({"step": event.step, **event.values}), flush=True)
    elif isinstance(event, Progress) and sys.stderr.isatty():
        print(f"\r{event.step}/{event.total}", end="", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    from engine.store import GalleryStore

    store = None
    try:
        request = command(args.command).build_request(args)
        request.validate()  # before torch is imported: bad input is refused at once
        from engine.runtime import Runtime  # torch is imported here

        if request.saves_images:
            store = GalleryStore(Path(args.out))
        runtime = Runtime(store=lambda: store, device_preference=args.device)
        try:
            outcome = runtime.run(request, JobContext(0, emit=_report, previews=False))
        finally:
            runtime.close()
    except UserFacingError as exc:  # StoreError included
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JobCancelled, KeyboardInterrupt):
        print("Cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        if store is not None:
            store.close()
    return _print_outcome(outcome)


def _print_outcome(outcome: Outcome) -> int:
    if isinstance(outcome, ModelOutcome):
        print(outcome.json_line(), flush=True)
        return 0
    failed = False
    if isinstance(outcome, ImagesOutcome):
        for result in outcome.images:
            if result.save_error:
                print(f"error: {result.save_error}", file=sys.stderr)
                failed = True
                continue
            print(result.json_line(), flush=True)
    return 1 if failed else 0
