"""A training's files from a cluster worker, landed in the user's run folder.

A worker runs a training in a scratch folder and sends back every file it wrote there
as bytes (ModelOutcome.files; engine.cluster.scratch_runs). Here each is written beside
the run's model file, where a local run writes it, atomically (engine.atomic: a reader
sees the old file or the new one, never half of one), the training state first, so a
kill between two files leaves what a local checkpoint leaves: a state at least as far
as its model. Every name is checked before a byte is written: a plain file name of the
run's own (its model's name, then a suffix), so a worker that sends `../x`, an absolute
path or another run's file gets nothing written at all.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath, PureWindowsPath

from engine.api.errors import BadInput
from engine.api.outcomes import ModelOutcome
from engine.atomic import write_bytes_atomic

STATE_SUFFIX = ".train.safetensors"  # engine.train.state's, without importing torch


def land_run(outcome: ModelOutcome, output: Path) -> ModelOutcome:
    """Write the run's files beside `output` (the user's model file); the outcome naming
    it, its bytes dropped."""
    files = checked_files(outcome.files, output)
    output.parent.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        write_bytes_atomic(output.parent / name, data)
    return replace(outcome, path=str(output), files=())


def checked_files(files: tuple[tuple[str, bytes], ...], output: Path) -> list[tuple[str, bytes]]:
    """The files in the order they land (state, model, the rest); BadInput with a
    sentence, before anything is written, for a name that is not the run's own."""
    stem = output.name.removesuffix(output.suffix)
    for name, data in files:
        if not _own(name, stem) or not isinstance(data, bytes):
            raise BadInput(
                f"A cluster worker sent back a file named {name!r} for the training "
                f"{output.name}: a run's files are named after it ({stem}.…) and land in "
                "its own folder, so none of them was written. Check that every node runs "
                "the same version of the app."
            )
    names = [name for name, _ in files]
    if output.name not in names:
        raise BadInput(
            f"A cluster worker sent back no model file for the training {output.name}, so "
            "nothing of it was written. Run the sweep again to train it again."
        )
    first = {stem + STATE_SUFFIX: 0, output.name: 1}
    return sorted(files, key=lambda item: (first.get(item[0], 2), item[0]))


def _own(name: object, stem: str) -> bool:
    """A plain file name (no folder, on any system) that starts with the run's name."""
    if not isinstance(name, str) or "\0" in name or name in ("", ".", ".."):
        return False
    plain = PurePosixPath(name).name == name and PureWindowsPath(name).name == name
    return plain and name.startswith(stem + ".") and len(name) > len(stem) + 1
