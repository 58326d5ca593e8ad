"""Running a command-line job: the same runtime as the app, without Qt.

Images: one JSON line per image written. Training: one JSON line per progress report,
then one with the checkpoint. Bad input: one `error: …` line and a non-zero exit; Ctrl-C:
"Cancelled." and exit 130. Nothing is created in the output folder until a job has
something to write there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from engine.api.events import Event, Metrics, Progress
from engine.api.outcomes import ImagesOutcome, ModelOutcome, Outcome
from engine.api.parts import ModelRef
from engine.api.requests import Request
from engine.cli_exit import EXIT_BAD_INPUT, exit_code
from engine.context import JobContext
from engine.local_checks import check_local, check_model


def _report(event: Event) -> None:
    if isinstance(event, Metrics):
        print(json.dumps({"step": event.step, **event.values}), flush=True)
    elif isinstance(event, Progress) and sys.stderr.isatty():
        print(f"\r{event.step}/{event.total}", end="", file=sys.stderr, flush=True)


class LazyGallery:
    """The gallery at `root`, opened on the first image to write: a job that writes
    nothing creates no folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = None

    def __call__(self):
        if self.store is None:
            from engine.store import GalleryStore

            self.store = GalleryStore(self.root)
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def run_job(
    build_request: Callable[[], Request],
    args: argparse.Namespace,
    more_files: Callable[[Outcome], list[Path]] | None = None,
) -> int:
    """Run one job; print a JSON line per image and per file `more_files` writes after."""
    return run_jobs(lambda: [build_request()], args, more_files)


def run_jobs(
    build_requests: Callable[[], list[Request]],
    args: argparse.Namespace,
    more_files: Callable[[Outcome], list[Path]] | None = None,
) -> int:
    """Run the jobs one after the other on one runtime (a wildcard batch's pictures, each
    its own prompt), every one checked before the first starts; each job's JSON lines are
    printed as it ends, and a picture that could not be saved stops the rest."""
    open_store = LazyGallery(Path(args.out))
    try:
        return exit_code(lambda: _run_each(build_requests(), args, open_store, more_files))
    finally:
        open_store.close()


def _run_each(
    requests: list[Request],
    args: argparse.Namespace,
    open_store: LazyGallery,
    more_files: Callable[[Outcome], list[Path]] | None,
) -> int:
    from engine.store import check_output_folder

    for request in requests:
        request.validate()  # before torch is imported: bad input is refused at once…
        check_local(request)  # …and so is a model that is not there
    check_output_folder(Path(args.out))
    runtime = cli_runtime(args, open_store)
    try:
        for request in requests:
            outcome = runtime.run(request, JobContext(0, emit=_report, previews=False))
            if status := _print_outcome(outcome) or _print_more_files(outcome, more_files):
                return status
        return 0
    finally:
        runtime.close()


def _print_more_files(outcome: Outcome, more_files: Callable[[Outcome], list[Path]] | None) -> int:
    if more_files is None:
        return 0
    try:
        for path in more_files(outcome):
            print(json.dumps({"path": str(path)}), flush=True)
    except OSError as exc:
        print(f"error: could not write the animation: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def write_animations(outcome: Outcome, fps: float) -> list[Path]:
    """The frames as an animated GIF and a lossless animated WebP, beside the first frame
    (written whole or not at all)."""
    from engine.atomic import write_atomic
    from engine.store.animation import animation_bytes

    if not isinstance(outcome, ImagesOutcome) or not outcome.images[0].path:
        return []
    first = Path(outcome.images[0].path)
    frames = [image.rgb for image in outcome.images]
    written = []
    for kind in ("gif", "webp"):
        target = first.with_name(f"{first.stem}-animation.{kind}")
        data = animation_bytes(frames, fps, kind)
        write_atomic(target, lambda file, data=data: file.write(data))
        written.append(target)
    return written


def cli_runtime(args: argparse.Namespace, open_store: LazyGallery):
    """The runtime a command runs its jobs on, with the device, precision, offload and
    compile choices its options name (torch is imported here); a device asked for but
    missing is warned about."""
    from engine.runtime import Runtime

    runtime = Runtime(
        store=open_store,
        device_preference=args.device,
        precision=getattr(args, "precision", None),
        offload=getattr(args, "offload", "auto"),
        compile=getattr(args, "compile", False),
    )
    _warn_about_device(runtime, args.device)
    return runtime


def _warn_about_device(runtime, requested: str) -> None:
    if requested not in ("auto", runtime.device.device):
        print(
            f"warning: {requested} was asked for but is not available here; "
            f"running on the {runtime.device.device.upper()}.",
            file=sys.stderr,
        )


def _print_outcome(outcome: Outcome) -> int:
    if isinstance(outcome, ModelOutcome):
        print(outcome.json_line(), flush=True)
        return 0
    if not isinstance(outcome, ImagesOutcome):
        return 0
    unsaved = [result for result in outcome.images if result.save_error]
    for result in outcome.images:
        if not result.save_error:
            print(result.json_line(), flush=True)
    if unsaved:  # one sentence, however many images it cost (the runtime stops at the first)
        count = len(outcome.images)
        lost = f" ({len(unsaved)} of {count} images not saved)" if count > 1 else ""
        print(f"error: {unsaved[0].save_error}{lost}", file=sys.stderr)
    return 1 if unsaved else 0


# ---------------------------------------------------------------- score


def run_score(args: argparse.Namespace) -> int:
    """The quality meter as `name: value` lines."""
    from engine.api.catalogue import family_of
    from engine.api.kinds import Family

    family = family_of(args.model)
    if family is None or family is Family.SD:
        print(
            f"error: {args.model} is not one of Latent Studio's Lab models; "
            "score a bundled name or a file that training wrote.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return exit_code(lambda: _print_score(ModelRef(family, args.model), args))


def _print_score(ref: ModelRef, args: argparse.Namespace) -> int:
    from engine.api.requests import ScoreRequest
    from engine.quality.score import score_lines
    from engine.runtime import Runtime

    check_model(ref)
    request = ScoreRequest(model=ref, count=args.count)
    request.validate()
    runtime = Runtime(device_preference=args.device)
    try:
        outcome = runtime.run(request, JobContext(0, previews=False))
    finally:
        runtime.close()
    values = {name: vector[0] for name, vector in zip(outcome.labels, outcome.vectors, strict=True)}
    for line in score_lines(values):
        print(line, flush=True)
    return 0
