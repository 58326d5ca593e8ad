"""An IP-Adapter job's CLIP vision encoder: found here as the runner finds it, sent with the
job, and laid out beside the adapters on the worker, so that its runner finds that one.

The request does not name the encoder: the runner looks for it beside the adapter file
(engine.models.sd.control.ip_adapter, `clip_vision` folders up to three levels above).
The driver runs that same search over the user's folders and ships what it found as
one more file (its placed key tagged ENCODER_TAG). The worker links the job's adapters
and that encoder into a folder of the job's own (`<view>/ipadapter/<i>/<adapter>` and
`<view>/clip_vision/<encoder>`), where the search finds that encoder and no other; the
links go when the job ends (the files stay in the cache).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from engine.api.errors import UserFacingError
from engine.cluster.request_files import ENCODER_TAG

VIEWS_FOLDER = "cluster-views"


def encoder_of(request: object) -> Path | None:
    """The CLIP vision encoder a local run of `request` would use, or None (no adapter,
    or none found: then the worker says what is missing, as a local run would)."""
    adapters = getattr(request, "ip_adapters", ())
    if not adapters:
        return None
    from engine.api.catalogue import model_path
    from engine.library.header import read_header
    from engine.models.sd.control.ip_adapter import AdapterFile, find_encoder

    files = []
    for adapter in adapters:
        path = Path(model_path(adapter.model))
        if not path.is_file():
            return None
        try:
            files.append(AdapterFile(path, None, "", read_header(path)))  # type: ignore[arg-type]
        except (UserFacingError, OSError):
            return None
    try:
        return find_encoder(files).path
    except UserFacingError:
        return None


@contextlib.contextmanager
def adapters_beside_encoder(
    request: object, placed: dict[str, str], views: Path
) -> Iterator[dict[str, str]]:
    """`placed` with the job's adapters linked beside its encoder, for the `with` block."""
    encoder = next((there for here, there in placed.items() if here.startswith(ENCODER_TAG)), "")
    adapters = [a.model.id for a in getattr(request, "ip_adapters", ()) if a.model.id in placed]
    if not encoder or not adapters:
        yield placed
        return
    views.mkdir(parents=True, exist_ok=True)
    view = Path(tempfile.mkdtemp(prefix="job-", dir=views))
    try:
        _link(Path(encoder), view / "clip_vision" / Path(encoder).name)
        here = dict(placed)
        for index, text in enumerate(dict.fromkeys(adapters)):
            target = view / "ipadapter" / str(index) / Path(placed[text]).name
            _link(Path(placed[text]), target)
            here[text] = str(target)
        yield here
    finally:
        shutil.rmtree(view, ignore_errors=True)  # the links only: rmtree follows none


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source, target, target_is_directory=source.is_dir())
    except OSError:  # no symlinks here (Windows without the right): hard links, or copies
        if source.is_dir():
            shutil.copytree(source, target, copy_function=_link_or_copy)
        else:
            _link_or_copy(source, target)


def _link_or_copy(source: Path | str, target: Path | str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
