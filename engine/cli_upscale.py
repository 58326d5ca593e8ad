"""`upscale --model M IN... --out OUT`: every image of the inputs (files, or folders of
images) upscaled into the gallery at OUT, as a batch.

One JSON line per image written (with `source`, the input it was made from), and a
progress line with the whole batch's ETA on stderr after each image. An image that
cannot be used (unreadable, damaged, too large, gone) is reported by name with its
sentence and the others go on. The batch journal in OUT/.batches (one per output folder
and model, scale and tile) makes a stopped upscale resume where it stopped when the same
command is run again: nothing is made twice, nothing is skipped; a changed file or
setting is made again. Output names are the gallery's (a slug of the input's name, never
one that exists). With --cluster ADDRESS (or LATENTSTUDIO_CLUSTER) the images fan out
over the Ray cluster's workers as a prompt batch's jobs do (engine.cluster.batch: each
image is sent once, its result saved here as it arrives, journalled in the order they
end), so a batch stopped on the cluster resumes here, and the other way round.

Exit: 0 all made; 1 some images failed (the rest made); 2 nothing could run (no image, a
bad model or output folder: said at once); 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.api.errors import BadInput, UnreadableImage, UserFacingError
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.batch.batch_journal import BatchJournal, upscale_journal_path
from engine.batch.cli_progress import cluster_endings, local_endings, resume_todo, say
from engine.batch.upscale_batch import (
    BatchClock,
    UpscaleItem,
    UpscalePlan,
    UpscaleSettings,
    plan_upscale,
)
from engine.cli import LazyGallery, cli_runtime
from engine.cli_exit import EXIT_BAD_INPUT, exit_code
from engine.local_checks import check_local

EXIT_SOME_FAILED = 1


def run_upscale(args: argparse.Namespace) -> int:
    settings = UpscaleSettings(
        ModelRef(Family.UPSCALE, args.model), args.scale, args.tile, args.allow_large
    )
    plan = plan_upscale([Path(p) for p in args.inputs], settings)
    for path, why in plan.problems:
        print(f"skipped: {path}: {why}", file=sys.stderr)
    open_store = LazyGallery(Path(args.out))
    resume = "Cancelled. Run the same command again to resume where the upscale stopped."
    try:
        return exit_code(lambda: _upscale(plan, settings, open_store, args), resume)
    finally:
        open_store.close()


def _upscale(
    plan: UpscalePlan, settings: UpscaleSettings, open_store: LazyGallery, args: argparse.Namespace
) -> int:
    from engine.store import check_output_folder

    if not plan.items:
        raise BadInput("There is no image to upscale in what was given.")
    first = settings.request(plan.items[0].path)
    first.validate()  # before torch is imported: bad settings are refused at once…
    check_local(first)  # …and so is a model that is not there
    out = Path(args.out)
    check_output_folder(out)
    journal = BatchJournal(upscale_journal_path(out, settings.data()))
    if journal.warning:
        print(f"warning: {journal.warning}", file=sys.stderr)
    clock = _run_batch(plan.items, settings, journal, open_store, args)
    failed = clock.failed + len(plan.problems)
    if failed:
        print(f"{clock.made} upscaled, {failed} failed.", file=sys.stderr)
        return EXIT_SOME_FAILED if clock.made else EXIT_BAD_INPUT
    return 0


def _run_batch(
    items: list[UpscaleItem],
    settings: UpscaleSettings,
    journal: BatchJournal,
    open_store: LazyGallery,
    args: argparse.Namespace,
) -> BatchClock:
    """Run the items the journal does not list, here one after the other or all at once
    on the Ray cluster, noting each as it ends."""
    from engine.cluster.connect import chosen_address

    todo = resume_todo(items, journal, lambda item: item.key, lambda _item: 1, "images")
    clock = BatchClock(len(items), before=len(items) - len(todo))
    if not todo:
        return clock
    requests = [settings.request(item.path) for item in todo]
    if address := chosen_address(getattr(args, "cluster", None)):  # or LATENTSTUDIO_CLUSTER
        _note(cluster_endings(requests, address, args), todo, journal, clock)
        return clock
    runtime = cli_runtime(args, open_store)  # torch is imported here
    try:
        # damaged, not an image, too large, gone: that image is skipped, the others go on
        _note(local_endings(runtime, requests, (UnreadableImage,)), todo, journal, clock)
    finally:
        runtime.close()
    return clock


def _note(endings, todo: list[UpscaleItem], journal: BatchJournal, clock: BatchClock) -> None:
    """Each image as it ends: printed and journalled, or skipped by name with its
    sentence; then the progress line."""
    for index, outcome, message in endings:
        item = todo[index]
        path = None
        if outcome is None:
            print(f"skipped: {item.path}: {message}", file=sys.stderr)
        else:
            path = _printed(outcome, item)
            journal.record(item.key, item.number, [path])
        clock.ended(made=path is not None)
        say(clock.line())


def _printed(outcome, item: UpscaleItem) -> str:
    """The saved picture's JSON line printed; its path."""
    image = outcome.images[0]
    if image.save_error:  # the disk is full or gone: every next image would fail too
        raise UserFacingError(image.save_error)
    fields = {**json.loads(image.json_line()), "source": str(item.path)}
    print(json.dumps(fields), flush=True)
    return image.path
