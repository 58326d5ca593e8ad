"""The command-line runs: the same runtime as the app, without Qt, one JSON line per image."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.context import JobContext
from engine.errors import JobCancelled, UserFacingError
from engine.jobs import Event, Progress, Request, SampleRequest, Txt2ImgRequest, random_seed


def request_from_args(args: argparse.Namespace) -> Request:
    seed = random_seed() if args.seed is None else args.seed
    if args.command == "generate":
        return Txt2ImgRequest(
            model=args.model,
            prompt=args.prompt,
            negative_prompt=args.negative,
            width=args.width,
            height=args.height,
            steps=args.steps,
            cfg_scale=args.cfg,
            seed=seed,
            sampler=args.sampler,
            batch_size=args.batch,
        )
    return SampleRequest(model=args.model, seed=seed, count=args.count)


def _progress_to_stderr(event: Event) -> None:
    if isinstance(event, Progress) and sys.stderr.isatty():
        print(f"\r{event.step}/{event.total}", end="", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    from engine.runtime import Runtime  # torch is imported here
    from engine.store import GalleryStore

    try:
        request = request_from_args(args)
        request.validate()
        store = GalleryStore(Path(args.out))
        runtime = Runtime(store=lambda: store, device_preference=args.device)
        ctx = JobContext(0, emit=_progress_to_stderr, previews=False)
        results = runtime.run(request, ctx)
    except UserFacingError as exc:  # StoreError included
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except JobCancelled:
        print("error: cancelled", file=sys.stderr)
        return 130
    failed = False
    for result in results:
        if result.save_error:
            print(f"error: {result.save_error}", file=sys.stderr)
            failed = True
            continue
        print(result.json_line(), flush=True)
    return 1 if failed else 0
