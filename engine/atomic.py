"""Write a file so that it is either complete or absent, never half-written.

The bytes go to a temp file beside the target, are fsync'd, and are renamed over the
target with os.replace (atomic on POSIX and Windows); then the folder is fsync'd so the
rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def temp_path_for(path: Path) -> Path:
    """A hidden name beside `path`; the random part keeps racing writers apart."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write` on a temp file, then move it over `path` in one step.

    Any exception (from `write`, the disk or the rename) removes the temp file and
    propagates; `path` is then untouched.
    """
    path = Path(path)
    temp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_folder(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda file: file.write(data))


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable. Best effort: Windows cannot open folders,
    and some file systems (network, FUSE) refuse to fsync them; the file is in place."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temps(path: Path) -> int:
    """Remove the temp files that writes of `path` killed mid-way left beside it; how many.

    Only for a file one writer owns (a training's checkpoint files): a temp file of a
    write still under way would be removed too.
    """
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}{re.escape(TEMP_SUFFIX)}")
    removed = 0
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def _create_temp(path: Path) -> tuple[Path, int]:
    # mkstemp would create the file 0600; os.open with 0666 lets the umask decide,
    # so the image gets the same permissions as any other file the user makes.
    while True:
        temp = temp_path_for(path)
        try:
            return temp, os.open(temp, _FLAGS, 0o666)
        except FileExistsError:
            continue


def write_new_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """write_atomic for a file that must not replace another: FileExistsError when
    `path` is taken (the caller picks another name), even one made a moment ago by
    another program. The temp file is linked to its name (the link fails when the name
    exists) where the file system has hard links; elsewhere (FAT, exFAT) a last look
    before the rename has to do.
    """
    path = Path(path)
    temp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        _place_new(temp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    fsync_folder(path.parent)


def _place_new(temp: Path, path: Path) -> None:
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (EPERM, ENOTSUP, ...): rename if still free
        if os.path.lexists(path):
            raise FileExistsError(path) from None
        os.replace(temp, path)
