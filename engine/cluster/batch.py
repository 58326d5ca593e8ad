"""`batch FILE --cluster ADDRESS`: a batch file's jobs fanned out over a Ray cluster.

Every job goes out at once (the scheduler keeps two in flight per worker, and sends
each file a job names once per node); each ending comes back here as it arrives, its
pictures already saved in --out. engine.cli_batch prints, journals and counts them as
it does a local job's, so a stopped batch resumes the same way whichever ran it.
"""

from __future__ import annotations

import argparse
import queue
from collections.abc import Iterator
from pathlib import Path

from engine.api.events import ENDINGS, Event
from engine.api.requests import Request
from engine.cluster.connect import connect
from engine.cluster.pool import WorkerOptions
from engine.cluster.session import ClusterSession

POLL_S = 0.2  # short waits: Ctrl-C is heard


def endings_on_cluster(
    requests: list[Request], address: str, args: argparse.Namespace
) -> Iterator[tuple[int, Event]]:
    """(index in `requests`, its ending) for each job, as each ends."""
    from engine.cli import LazyGallery

    open_store = LazyGallery(Path(args.out))
    endings: queue.Queue = queue.Queue()
    session = None
    try:
        connect(address)
        session = ClusterSession(open_store, lambda e: endings.put(e) if _ends(e) else None)
        session.start_workers(WorkerOptions(device_preference=args.device))
        for index, request in enumerate(requests):
            session.submit(index + 1, request)
        for _ in requests:
            event = _next(endings)
            yield event.job_id - 1, event
    finally:
        if session is not None:
            session.close()
        open_store.close()


def _ends(event: Event) -> bool:
    return isinstance(event, ENDINGS)


def _next(endings: queue.Queue) -> Event:
    while True:
        try:
            return endings.get(timeout=POLL_S)
        except queue.Empty:
            continue
