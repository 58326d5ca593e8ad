"""A training on a cluster worker: run in a scratch folder of its own, its files sent back.

The worker runs a TrainRequest with its output in `<cache>/cluster-scratch/run-<pid>-…/`
(the same file name as the user's, so the files it writes are named as a local run's),
reads every file the run wrote there into the outcome as bytes (ModelOutcome.files),
and deletes the folder, whatever the run's ending: nothing stays on the worker but its
model cache. The driver lands the files in the user's run folder
(engine.cluster.run_files). A run over a folder of images reads it laid out in its
scratch folder (engine.cluster.data_files), so it goes with the rest; the model's
record and the run's sentences name the user's folder, as a local run's do. A scratch
folder left by a worker process that died mid-run is removed by the next worker of that
node to train.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from engine.api.errors import UserFacingError
from engine.api.outcomes import ModelOutcome, Outcome
from engine.api.requests import TrainRequest
from engine.cluster.data_files import lay_out_data, users_folder

SCRATCH_FOLDER = "cluster-scratch"
_PREFIX = "run-"


def train_in_scratch(
    request: TrainRequest,
    root: Path,
    run: Callable[[TrainRequest], Outcome],
    asked: TrainRequest | None = None,
    placed: dict[str, str] | None = None,
) -> ModelOutcome:
    """`run(request)` with its output in a fresh scratch folder under `root`; the outcome
    names the user's output and carries the run's files. `asked`: the request as the
    user's computer sent it (`request` names this worker's copies: of the state file a
    resumed run continues from), which the model's record then names, as a local run's
    would; `placed`: the job's files where this worker holds them (a folder of images'
    among them: engine.cluster.data_files)."""
    asked = asked or request
    root.mkdir(parents=True, exist_ok=True)
    remove_abandoned(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=root))
    try:
        output = folder / Path(request.output).name
        here = lay_out_data(replace(request, output=str(output)), placed or {}, folder)
        try:
            outcome = run(here)
        except UserFacingError as exc:  # naming the user's folder, not its copy here
            if here.dataset != asked.dataset:
                _name, users = users_folder(placed or {}, asked)
                exc.message = exc.message.replace(here.dataset.name, users)
                exc.args = (exc.message,)
            raise
        assert isinstance(outcome, ModelOutcome)
        copies = here.resume_from != asked.resume_from or here.dataset != asked.dataset
        if copies and output.is_file():
            _name_users_files(output, here, asked, users_folder(placed or {}, asked)[0])
        files = tuple(
            (path.name, path.read_bytes()) for path in sorted(folder.iterdir()) if path.is_file()
        )
        return replace(outcome, path=request.output, files=files)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _name_users_files(output: Path, here: TrainRequest, asked: TrainRequest, name: str) -> None:
    """The model's record naming the user's state file it was resumed from and the user's
    folder it read, not this worker's copies: the file written again as the training
    wrote it (fp32 either way), where a name differs."""
    from engine.models.common.modelfile import read_model_file, save_model_file

    ours = {"resumed_from": str(here.resume_from), "source": here.dataset.name}
    theirs = {"resumed_from": str(asked.resume_from), "source": asked.dataset.name}
    if here.dataset.name != asked.dataset.name:  # the folder's name, as the loader takes it
        ours["dataset"] = Path(here.dataset.name).name
        theirs["dataset"] = name
    tensors, record = read_model_file(output, here.family, "train")
    meta = record.get("meta", {})
    changed = {k: theirs[k] for k, v in ours.items() if k in meta and meta[k] == v != theirs[k]}
    if changed:
        save_model_file(output, tensors, here.family, record["config"], {**meta, **changed})


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
