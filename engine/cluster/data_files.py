"""A training's folder of images on a cluster worker: listed here, its images sent as models
are, and the same folder laid out again in the run's scratch folder there.

The driver lists the folder as the local loader does (engine.data.folder.files_in: its
files, sorted, hidden ones left out, symlinked folders not followed, a symlinked file
read through its link), off the GUI thread (the scheduler's preparing), after checking
it as the loader does: a folder that is none here ends the job in the loader's words.
Each image the loader would decode travels by sha256, once per node, and is kept in the worker's
cache like a model file (engine.cluster.model_shipping); a file the loader skips by its
name (not a jpg, png or webp) does not travel: the worker gets an empty stand-in of
that name, which the loader skips in the same words. The worker lays the folder out
under the run's scratch folder (`<run>/data/<folder's name>/<the same relative
paths>`), each file a link to (or copy of) its cached one, never a symlink, every name
checked to be a plain one there first; so its loader reads the same images in the same
order as here, and the scratch folder, data and all, goes when the run ends
(engine.cluster.scratch_runs). An image unreadable here travels as an empty stand-in
too: the loader skips it there as it skips it here, only its reason named otherwise.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from engine.api.catalogue import DATASET_TITLES
from engine.api.errors import BadInput
from engine.api.requests import TrainRequest

# The keys of a job's files (engine.cluster.request_files' placed pairs) for its data:
# the folder's name as this computer's loader takes it, then NUL and the folder as it
# names it in its sentences (expanded); each image by its path relative to
# the folder, then NUL (in no path) and its path here (where the driver reads it); each
# file the loader skips by its name, by its relative path (no bytes travel for it).
FOLDER_TAG = "data-folder:"
IMAGE_TAG = "data-image:"
SKIPPED_TAG = "data-skipped:"
DATA_SUBFOLDER = "data"  # in the run's scratch folder; no run's file is named so


def data_folder(request: object) -> Path | None:
    """The folder of the user's images a training reads, or None (a bundled set, or
    not a training)."""
    if not isinstance(request, TrainRequest):
        return None
    name = request.dataset.name
    return None if name in DATASET_TITLES or not name.strip() else Path(name).expanduser()


# ---------------------------------------------------------------- the driver's side


def data_entries(request: object) -> list[tuple[str, Path | None]]:
    """The training's data as a job's files: the folder's marker, then each file the
    loader would read, keyed by its relative path, with its path here (None: a stand-in
    for a file the loader skips by its name). [] for a bundled set. BadInput, in the
    loader's words, for a folder that is none here (missing, a file, a system folder):
    the job ends with it before a worker is asked."""
    folder = data_folder(request)
    if folder is None:
        return []
    from engine.data.folder import SUFFIXES, FolderReport, check_data_folder, files_in

    check_data_folder(folder)

    name = Path(request.dataset.name).name  # type: ignore[attr-defined]
    entries: list[tuple[str, Path | None]] = [(f"{FOLDER_TAG}{name}\0{folder}", None)]
    for path in files_in(folder, FolderReport()):
        relative = path.relative_to(folder).as_posix()
        image = path.suffix.lower() in SUFFIXES
        key = f"{IMAGE_TAG}{relative}\0{path}" if image else SKIPPED_TAG + relative
        entries.append((key, path if image else None))
    return entries


def skipped_instead(key: str) -> str:
    """An image's key as a stand-in's (an image that cannot be read here)."""
    return SKIPPED_TAG + key.removeprefix(IMAGE_TAG).split("\0", 1)[0]


def data_source(key: str) -> str | None:
    """Where the driver reads an image of the data (None: not an image's key)."""
    return key.split("\0", 1)[1] if key.startswith(IMAGE_TAG) and "\0" in key else None


# ---------------------------------------------------------------- the worker's side


def lay_out_data(request: TrainRequest, placed: dict[str, str], run_folder: Path) -> TrainRequest:
    """The request reading its folder laid out under `run_folder` from the files placed
    for it (`request` unchanged for a bundled set). A folder the driver did not list is
    named by a path that is not there, so the loader says there is no such data set:
    a worker never reads a folder of its own that happens to have the user's path."""
    if data_folder(request) is None:
        return request
    name, users = users_folder(placed, request)
    root = run_folder / DATA_SUBFOLDER / (name if plain_name(name) else "images")
    if any(key.startswith(FOLDER_TAG) for key in placed):
        root.mkdir(parents=True)
        for key, there in placed.items():
            if key.startswith(IMAGE_TAG):
                _place(root, key.removeprefix(IMAGE_TAG).split("\0", 1)[0], Path(there))
            elif key.startswith(SKIPPED_TAG):
                _place(root, key.removeprefix(SKIPPED_TAG), None)
    return replace(request, dataset=replace(request.dataset, name=str(root)))


def users_folder(placed: dict[str, str], request: TrainRequest) -> tuple[str, str]:
    """The folder's name, as the user's computer's loader takes it (its record's
    `dataset`), and the folder as that loader names it in its sentences (expanded)."""
    listed = next((k.removeprefix(FOLDER_TAG) for k in placed if k.startswith(FOLDER_TAG)), "")
    name, _, users = listed.partition("\0")
    return (name, users) if listed else (Path(request.dataset.name).name, request.dataset.name)


def _place(root: Path, relative: str, source: Path | None) -> None:
    """One file of the folder at `root / relative` (empty for None): BadInput, before
    anything is written, for a name that would leave `root`."""
    if not plain_path(relative):
        raise BadInput(
            f"The cluster's driver sent a data file named {relative!r}, which is not a "
            "plain path inside the training's folder, so the run was not started. Check "
            "that every node runs the same version of the app."
        )
    target = root.joinpath(*PurePosixPath(relative).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is None:
        target.touch(exist_ok=False)
        return
    try:
        os.link(source, target)  # a hard link: the loader reads the bytes, writes nothing
    except OSError:
        shutil.copyfile(source, target)


def plain_name(part: Any) -> bool:
    """A single file or folder name on this system: no separator, not `.` or `..` (what a
    name sent to a worker must be before it writes under it: engine.cluster.model_store)."""
    if not isinstance(part, str) or part in ("", ".", "..") or "\0" in part:
        return False
    return Path(part).name == part and not Path(part).anchor


def plain_path(text: Any) -> bool:
    """A relative path of plain names joined by "/", written once (no "a//b", no "./x"):
    what a path sent to a worker must be before it writes under it."""
    parts = PurePosixPath(text).parts if isinstance(text, str) else ()
    return bool(parts) and all(plain_name(part) for part in parts) and "/".join(parts) == text
