"""A training on a cluster worker: run in a scratch folder of its own, its files sent back.

The worker runs a TrainRequest with its output in `<cache>/cluster-scratch/run-<pid>-…/`
(the same file name as the user's, so the files it writes are named as a local run's),
reads every file the run wrote there into the outcome as bytes (ModelOutcome.files),
and deletes the folder, whatever the run's ending: nothing stays on the worker but its
model cache. The driver lands the files in the user's run folder
(engine.cluster.run_files). A scratch folder left by a worker process that died mid-run
is removed by the next worker of that node to train.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.api.outcomes import ModelOutcome, Outcome
from engine.api.requests import TrainRequest

SCRATCH_FOLDER = "cluster-scratch"
_PREFIX = "run-"


def train_in_scratch(
    request: TrainRequest,
    root: Path,
    run: Callable[[TrainRequest], Outcome],
    users_state: str | None = None,
) -> ModelOutcome:
    """`run(request)` with its output in a fresh scratch folder under `root`; the outcome
    names the user's output and carries the run's files. `users_state`: the state file
    a resumed run continues from, as the user's computer names it (`request` names this
    worker's copy), which the model's record then names, as a local run's would."""
    root.mkdir(parents=True, exist_ok=True)
    remove_abandoned(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=root))
    try:
        output = folder / Path(request.output).name
        outcome = run(replace(request, output=str(output)))
        assert isinstance(outcome, ModelOutcome)
        if request.resume_from and users_state and output.is_file():
            _name_users_state(output, request, users_state)
        files = tuple(
            (path.name, path.read_bytes()) for path in sorted(folder.iterdir()) if path.is_file()
        )
        return replace(outcome, path=request.output, files=files)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _name_users_state(output: Path, request: TrainRequest, users_state: str) -> None:
    """The model's record naming the user's state file it was resumed from, not this
    worker's copy: the file written again as the training wrote it (fp32 either way)."""
    from engine.models.common.modelfile import read_model_file, save_model_file

    tensors, record = read_model_file(output, request.family, "train")
    meta = record.get("meta", {})
    if meta.get("resumed_from") == str(request.resume_from):
        meta = {**meta, "resumed_from": users_state}
        save_model_file(output, tensors, request.family, record["config"], meta)


def remove_abandoned(root: Path) -> None:
    """Remove the scratch folders of worker processes that are gone (killed mid-run)."""
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            pid = _pid_of(entry.name)
            if pid is not None and pid != os.getpid() and not _alive(pid):
                shutil.rmtree(entry, ignore_errors=True)


def _pid_of(name: str) -> int | None:
    head = name.removeprefix(_PREFIX).split("-", 1)[0]
    return int(head) if name.startswith(_PREFIX) and head.isdigit() else None


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end it there: leave its folder
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True
