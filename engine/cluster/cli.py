"""`generate --cluster ADDRESS` (or LATENTSTUDIO_CLUSTER): the job run on a Ray cluster.

A batch is split into one job per picture (picture i of a batch is the picture of seed
+ i alone, pixel for pixel: tests/test_sd.py), so it fans out over every worker; each
picture is saved here, in --out, as it arrives, with the JSON line a local run prints.
An X/Y/Z plot (--xyz) fans its cells out (engine.cluster.plot_fanout) and prints the
grid, then every cell, as a local run does.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.api.errors import BadInput
from engine.api.events import ENDINGS, Cancelled, Event, Failed, Finished, Progress
from engine.api.outcomes import ImagesOutcome
from engine.api.requests import Request, Txt2ImgRequest
from engine.cli_exit import EXIT_CANCELLED, exit_code
from engine.cluster.connect import connect, reconnect
from engine.cluster.plot_fanout import PlotFanout, fans_out
from engine.cluster.pool import WorkerOptions
from engine.cluster.request_files import runs_remotely
from engine.cluster.session import ClusterSession


def _say(message: str) -> None:
    """The cluster's troubles (a lost connection, lost workers), as they happen."""
    print(f"Ray cluster: {message}", file=sys.stderr)


def split_batch(request: Request) -> list[Request]:
    """One request per picture where that makes the same pictures, else the request."""
    if type(request) is not Txt2ImgRequest or request.batch_size == 1:
        return [request]
    if request.variation_strength:  # each picture's noise mixes with the batch's
        return [request]
    seed = request.sampling.seed
    return [
        replace(request, batch_size=1, sampling=replace(request.sampling, seed=seed + i))
        for i in range(request.batch_size)
    ]


class _Batch:
    """Endings counted, and each finished picture printed as it lands."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.failures: list[str] = []
        self.cancelled = False
        self.done = threading.Event()
        self._ended = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress) and event.message and sys.stderr.isatty():
            print(f"\r{event.message}", file=sys.stderr, flush=True)
        if not isinstance(event, ENDINGS):
            return
        with self._lock:
            if isinstance(event, Finished) and isinstance(event.outcome, ImagesOutcome):
                for image in event.outcome.images:
                    if image.save_error:
                        self.failures.append(image.save_error)
                    else:
                        print(image.json_line(), flush=True)
            elif isinstance(event, Failed):
                self.failures.append(event.message)
            elif isinstance(event, Cancelled):
                self.cancelled = True
            self._ended += 1
            if self._ended == self.count:
                self.done.set()


def run_on_cluster(
    build_request: Callable[[], Request], args: argparse.Namespace, address: str
) -> int:
    from engine.cli import LazyGallery

    open_store = LazyGallery(Path(args.out))
    try:
        return exit_code(lambda: _run(build_request(), args, address, open_store))
    finally:
        open_store.close()


def _run(request: Request, args: argparse.Namespace, address: str, open_store) -> int:
    from engine.local_checks import check_local
    from engine.store import check_output_folder

    request.validate()
    check_local(request)  # the model is sent from here: it must be here
    plot = fans_out(request)
    if not (plot or runs_remotely(request)):
        raise BadInput("This job runs on this computer only: run it without --cluster.")
    check_output_folder(Path(args.out))
    connect(address)
    jobs = [request] if plot else split_batch(request)
    batch = _Batch(len(jobs))
    session = ClusterSession(open_store, batch, _say, lambda: reconnect(address))
    try:
        session.start_workers(WorkerOptions(device_preference=args.device))
        if plot:
            PlotFanout(session, batch, open_store).submit(1, request)
        else:
            for job_id, job in enumerate(jobs, start=1):
                session.submit(job_id, job)
        while not batch.done.wait(0.2):  # short waits: Ctrl-C is heard
            pass
    finally:
        session.close()
    if batch.failures:
        print(f"error: {batch.failures[0]}", file=sys.stderr)
        return 1
    return EXIT_CANCELLED if batch.cancelled else 0
