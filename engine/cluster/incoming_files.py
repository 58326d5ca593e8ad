"""What arrives in a worker's model cache, before it is kept: its names checked (plain
ones only: nothing may land outside the entry), its bytes checked against their sha256,
and its files written piece by piece into a private folder, which the store then renames
into place (engine.cluster.model_store)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from engine.api.errors import BadModelFile
from engine.cluster.data_files import plain_name, plain_path
from engine.cluster.model_shipping import Manifest, ManifestFile

COMPLETE_MARKER = ".complete"


def write_staged(
    staging: Path, manifest: Manifest, files: Sequence[Iterable[bytes]], verify: bool
) -> None:
    """Each file's pieces written in turn (its sha256 checked at its end if `verify`),
    then the marker that says the copy is whole."""
    root = staging / manifest.name
    for f, pieces in zip(manifest.files, files, strict=True):
        target = root / f.path if f.path else root
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with open(target, "wb") as out:  # builtin open: a test gives a disk that fills
            for piece in pieces:
                out.write(piece)
                if verify:
                    digest.update(piece)
        if verify and digest.hexdigest() != f.sha256:
            raise damaged(manifest, f)
    (staging / COMPLETE_MARKER).write_text(manifest.sha256)


def check_bytes(manifest: Manifest, contents: list[bytes]) -> None:
    """BadModelFile for a hostile name or damaged bytes, before anything is written."""
    check_names(manifest)
    for f, data in zip(manifest.files, contents, strict=True):
        if hashlib.sha256(data).hexdigest() != f.sha256:
            raise damaged(manifest, f)


def damaged(manifest: Manifest, f: ManifestFile) -> BadModelFile:
    return BadModelFile(
        f"The copy of {manifest.name} that reached this worker is damaged "
        f"({f.path or 'the file'} differs from the original). Run the job again."
    )


def check_names(manifest: Manifest) -> None:
    """BadModelFile, before a byte is written, for a name that would leave the entry
    (its sha256 names the entry's folder: a plain name too)."""
    if not plain_name(manifest.sha256):
        raise BadModelFile(
            f"A model sent to this worker names its cache folder {manifest.sha256!r}, which "
            "is not a plain name, so nothing of it was written. Check that every node runs "
            "the same version of the app."
        )
    for text in (manifest.name, *(f.path for f in manifest.files if f.path)):
        if not plain_path(text):
            raise BadModelFile(
                f"A model sent to this worker names a file {text!r}, which is not a plain "
                "path inside its cache folder, so nothing of it was written. Check that "
                "every node runs the same version of the app."
            )
