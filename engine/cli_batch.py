"""`batch FILE [generate's options]`: every line of a batch file as a generate job.

The options on the command line apply to every line that does not set its own. One
JSON line per picture (generate's, with the batch file's line number), a progress line
with the whole batch's ETA on stderr after each job, and each bad line reported as
`line N: sentence` before the rest run. The journal in the output folder makes a
stopped batch resume where it stopped, here or on a Ray cluster (--cluster: the jobs
fan out over its workers; their pictures print as they arrive). Exit: 0 all made;
1 some lines bad (the rest made); 2 nothing could run; 130 stopped (run the same
command again to resume).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from engine.api.errors import BadInput, BadModelFile, UserFacingError
from engine.batch.batch_file import BadLine
from engine.batch.cli_progress import cluster_endings, duration, local_endings, resume_todo, say
from engine.cli_exit import EXIT_BAD_INPUT, exit_code

EXIT_SOME_BAD = 1
LOCAL_ONLY = "This job runs on this computer only: run this line without --cluster."


def batch_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.cli_generate import generate_arguments, wildcards_argument

    parser.add_argument(
        "file",
        metavar="FILE",
        help="a text file (a prompt or generate's options a line), CSV "
        "(a header of option names) or JSONL (an object a line)",
    )
    generate_arguments(parser)
    for action in parser._actions:  # a line may set them instead
        if action.dest in ("model", "prompt"):
            action.required = False
            action.help = (action.help or "") + " (for every line that does not set it)"
    parser.set_defaults(prompt="")
    batch = parser.add_argument_group("Batch")
    batch.add_argument(
        "--matrix",
        action="store_true",
        help="A1111's prompt matrix: `base|a|b` makes base; base, a; base, b; base, a, b",
    )
    batch.add_argument(
        "--matrix-at-start", action="store_true", help="--matrix with the parts before the base"
    )
    batch.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="run the jobs on a Ray cluster: ray://HOST:10001, HOST:6379 on a node, or "
        "'local' (default: $LATENTSTUDIO_CLUSTER; needs pip install .[cluster])",
    )
    wildcards_argument(batch)


def run_batch(args: argparse.Namespace) -> int:
    from engine.batch.batch_file import read_batch
    from engine.batch.batch_journal import BatchJournal, journal_path
    from engine.batch.batch_plan import BatchSettings, plan_batch
    from engine.cli_generate import wildcards_folder
    from engine.local_checks import check_local

    batch_file = Path(args.file)
    try:
        lines, bad = read_batch(batch_file)
    except UserFacingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not lines and not bad:
        print(f"error: {batch_file} has no jobs: write a prompt a line.", file=sys.stderr)
        return EXIT_BAD_INPUT
    journal = BatchJournal(journal_path(Path(args.out), batch_file))
    if journal.warning:
        print(f"warning: {journal.warning}", file=sys.stderr)
    folder = wildcards_folder(args)
    settings = BatchSettings(
        args, journal.batch_seed, folder, args.matrix or args.matrix_at_start, args.matrix_at_start
    )
    jobs, refused = plan_batch(lines, settings, check=check_local)
    bad = sorted(bad + refused, key=lambda b: b.number)
    for line in bad:
        print(f"{batch_file.name}: {line}", file=sys.stderr)
    failed: list[BadLine] = []
    status = _run_jobs(jobs, journal, args, batch_file, failed)
    if status:
        return status
    bad += failed
    if bad:
        print(f"{len(bad)} bad lines were skipped; the others ran.", file=sys.stderr)
        return EXIT_SOME_BAD if jobs else EXIT_BAD_INPUT
    return 0


def _run_jobs(
    jobs, journal, args: argparse.Namespace, batch_file: Path, failed: list[BadLine]
) -> int:
    """Run the jobs the journal does not list, here or on the Ray cluster; a job its own
    line makes impossible (a damaged model file, an unreadable image, a job the cluster
    does not run) goes into `failed` and the others go on."""
    from engine.cli import LazyGallery
    from engine.cluster.connect import chosen_address

    def count(job) -> int:
        return job.request.image_count

    todo = resume_todo(jobs, journal, lambda job: job.key, count, "pictures")
    if not todo:
        return 0
    total = sum(count(job) for job in jobs)
    progress = _Progress(total, total - sum(count(job) for job in todo))
    address = chosen_address(getattr(args, "cluster", None))  # or LATENTSTUDIO_CLUSTER
    if address:
        todo = _remote_only(todo, batch_file, failed)
    open_store = LazyGallery(Path(args.out))
    resume = "Cancelled. Run the same command again to resume where the batch stopped."

    def note(endings) -> int:
        return _note(endings, todo, journal, batch_file, failed, progress)

    try:
        return exit_code(lambda: _run_todo(todo, address, args, open_store, note), resume)
    finally:
        open_store.close()


def _run_todo(
    todo, address: str | None, args: argparse.Namespace, open_store, note: Callable[..., int]
) -> int:
    """The jobs left, on the cluster at `address` or here, each noted as it ends."""
    from engine.cli import cli_runtime
    from engine.store import check_output_folder

    check_output_folder(Path(args.out))
    requests = [job.request for job in todo]
    if address:  # the jobs fan out over the cluster's workers, noted as they end
        return note(cluster_endings(requests, address, args))
    runtime = cli_runtime(args, open_store)  # torch is imported here
    try:
        endings = local_endings(runtime, requests, (BadInput, BadModelFile))
        return note(endings)
    finally:
        runtime.close()


def _remote_only(todo, batch_file: Path, failed: list[BadLine]) -> list:
    """The jobs a cluster runs; each other one is a bad line (it runs here only)."""
    from engine.cluster.request_files import runs_remotely

    remote = []
    for job in todo:
        if runs_remotely(job.request):
            remote.append(job)
        else:
            failed.append(BadLine(job.line, LOCAL_ONLY))
            print(f"{batch_file.name}: {failed[-1]}", file=sys.stderr)
    return remote


def _note(endings, todo, journal, batch_file: Path, failed: list[BadLine], progress) -> int:
    """Each job as it ends: its pictures printed and journalled, or its line bad."""
    for index, outcome, message in endings:
        job = todo[index]
        if outcome is None:
            failed.append(BadLine(job.line, message))
            print(f"{batch_file.name}: {failed[-1]}", file=sys.stderr)
            continue
        paths = _print_pictures(outcome, job.line, batch_file)
        if paths is None:
            return 1  # a picture could not be saved: the disk is full or gone
        journal.record(job.key, job.line, paths)
        progress.done(job.request.image_count)
    return 0


def _print_pictures(outcome, line: int, batch_file: Path) -> list[str] | None:
    """A JSON line per picture; None if one was not saved (its sentence on stderr)."""
    paths = []
    for result in outcome.images:
        if result.save_error:
            print(f"error: {result.save_error}", file=sys.stderr)
            return None
        fields = {**json.loads(result.json_line()), "file": str(batch_file), "line": line}
        print(json.dumps(fields), flush=True)
        paths.append(result.path)
    return paths


class _Progress:
    """`batch: 12/40 pictures, about 3 min left` on stderr after each job."""

    def __init__(self, total: int, made_before: int) -> None:
        self.total = total
        self.made = made_before
        self.made_here = 0
        self.start = time.monotonic()

    def done(self, count: int) -> None:
        self.made += count
        self.made_here += count
        left = self.total - self.made
        per_picture = (time.monotonic() - self.start) / self.made_here
        eta = f", about {duration(per_picture * left)} left" if left else ""
        say(f"batch: {self.made}/{self.total} pictures{eta}")
