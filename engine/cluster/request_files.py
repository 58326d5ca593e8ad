"""The files a request names, and the request with them where a worker holds them.

A request names files by path: its model, LoRAs, a VAE, embeddings, a tiny VAE, control
and IP-Adapter models, annotators, a hires upscaler, a training's state to continue, and
the pictures it starts from (source, mask, control and IP-Adapter images: an ImageRef
carries a path and a sha256, never pixels, so their bytes travel as a model's do); a
training's folder of images adds its images (engine.cluster.data_files). The driver
ships each one (engine.cluster.model_shipping); the worker runs the request with each
path replaced by its own (`with_files`), and the pictures' info gets the user's paths
back (`with_user_paths`). A bundled model or data set names no file: it is on every
node with the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar

from engine.api.catalogue import bundled_path
from engine.api.kinds import Lane
from engine.api.parts import ImageRef, LoraSpec, ModelRef
from engine.api.requests import ModelRequest, Request, TrainRequest
from engine.cluster.data_files import data_source

T = TypeVar("T")
# A file a job needs that its request does not name (an IP-Adapter's CLIP vision encoder:
# engine.cluster.ip_adapter_files): its path, so tagged, among the job's files.
ENCODER_TAG = "clip-vision:"
# A request's str fields naming one file ("" or None: none); a training's resume_from is
# the state file a sweep's stopped run continues from (engine.cluster.sweep).
FILE_FIELDS = ("vae", "tiny_vae", "resume_from")
FILES_FIELDS = ("embeddings",)  # and its tuples of files


def runs_remotely(request: Request) -> bool:
    """Whether the cluster runs `request`: a generate-lane job, every file it names sent
    with it (engine.cluster.request_files: model, LoRAs, VAE, embeddings, tiny VAE,
    control and IP-Adapter models, source, mask and control images; an IP-Adapter's CLIP
    vision encoder too: engine.cluster.ip_adapter_files), or a run of the Train tab's
    sweep over a bundled data set or a folder of images (its images sent with it:
    engine.cluster.data_files; its files come back: engine.cluster.run_files). What
    stays here: interactive work (Lab sliders, a control unit's map) and a single
    training (watched live: stays_here_note). Decided without the disk (the GUI thread
    asks): a sweep's folder that is none here ends its run, in the loader's words, when
    its files are gathered (engine.cluster.data_files). An X/Y/Z plot is not sent whole
    (not a ModelRequest): its cells are, each a job whose files are sent with it, and
    its grid is made here (engine.cluster.plot_fanout)."""
    if isinstance(request, TrainRequest):
        return request.sweep_run
    return request.lane is Lane.GENERATE and isinstance(request, ModelRequest)


def stays_here_note(request: Request) -> str:
    """Why a training the cluster could run trains on this computer ("" for none)."""
    if isinstance(request, TrainRequest) and not request.sweep_run:
        return (
            "a single training runs on this computer, where it is watched live; a sweep's "
            "runs train on the cluster."
        )
    return ""


def named_files(request: object) -> list[str]:
    """Every path the request names, as it spells them, each once, in order."""
    found: list[str] = []

    def note(text: str) -> str:
        found.append(text)
        return text

    _walk(request, note)
    return list(dict.fromkeys(found))


def with_files(request: T, placed: Mapping[str, str]) -> T:
    """The request with each path in `placed` replaced by its value."""
    return _walk(request, lambda text: placed.get(text, text))


def with_user_paths(info: Any, placed: Mapping[str, str]) -> Any:
    """A picture's info with the worker's paths (values of `placed`) the user's again."""
    back = {there: source_of(here) for here, there in placed.items() if there}
    return _strings(info, lambda text: back.get(text, text))


def sentence_with_user_paths(text: str, placed: Mapping[str, str]) -> str:
    """A worker's sentence (a failure's) naming the user's files, not its copies."""
    for here, there in sorted(placed.items(), key=lambda item: -len(item[1])):
        if there:  # "": a key with no file there (engine.cluster.data_files)
            text = text.replace(there, source_of(here))
    return text


def source_of(text: str) -> str:
    """The path of a job's file on this computer (a tagged one's too: an IP-Adapter's
    encoder, an image of a training's folder)."""
    return data_source(text) or text.removeprefix(ENCODER_TAG)


def _walk(value: Any, swap: Callable[[str], str]) -> Any:
    if isinstance(value, ModelRef):
        if not value.id.strip() or bundled_path(value.id) is not None:
            return value
        return _changed(value, id=swap(value.id))
    if isinstance(value, LoraSpec):
        return _changed(value, path=swap(value.path))
    if isinstance(value, ImageRef):
        return _changed(value, path=swap(value.path)) if value.path.strip() else value
    if isinstance(value, tuple):
        items = tuple(_walk(item, swap) for item in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if not is_dataclass(value) or isinstance(value, type):
        return value
    changes = {}
    for f in fields(value):
        if not f.init:
            continue
        item = getattr(value, f.name)
        if f.name in FILE_FIELDS and isinstance(item, str):
            new = swap(item) if item.strip() else item
        elif f.name in FILES_FIELDS and isinstance(item, tuple):
            new = tuple(swap(text) for text in item)
            new = item if new == item else new
        else:
            new = _walk(item, swap)
        if new is not item:
            changes[f.name] = new
    return replace(value, **changes) if changes else value


def _changed(value: T, **change: str) -> T:
    ((name, new),) = change.items()
    return value if getattr(value, name) == new else replace(value, **change)


def _strings(value: Any, swap: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return swap(value)
    if isinstance(value, dict):
        return {_strings(key, swap): _strings(item, swap) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_strings(item, swap) for item in value)
    return value
