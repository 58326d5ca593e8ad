"""The system trash, with undo where the platform lets us find what we put there.

send2trash moves a file to the trash on every platform but does not say where it went.
On freedesktop systems (Linux, the BSDs) the trash is a documented folder layout: each
trashed file has a `.trashinfo` beside it naming its original path, so a delete can be
undone by moving it back. Elsewhere `restorable` is False and the GUI asks first.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from send2trash import send2trash

FREEDESKTOP = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))


@dataclass(frozen=True)
class Trashed:
    original: Path
    file: Path | None = None  # where the file is now, when the platform lets us know
    info: Path | None = None

    @property
    def restorable(self) -> bool:
        return self.file is not None and self.file.exists()


def can_undo_delete() -> bool:
    return FREEDESKTOP


def move_to_trash(path: Path) -> Trashed:
    """Trash `path`; raises OSError (FileNotFoundError if it is gone already)."""
    path = Path(path).absolute()
    send2trash(path)
    if not FREEDESKTOP:
        return Trashed(path)
    return _find_in_trash(path) or Trashed(path)


def restore(trashed: Trashed) -> None:
    """Put a trashed file back where it was; raises OSError if that is not possible."""
    if not trashed.restorable:
        raise FileNotFoundError(f"{trashed.original.name} is no longer in the trash")
    if trashed.original.exists():
        raise FileExistsError(f"{trashed.original} exists again")
    trashed.original.parent.mkdir(parents=True, exist_ok=True)
    os.replace(trashed.file, trashed.original)
    if trashed.info is not None:
        with contextlib.suppress(FileNotFoundError):
            trashed.info.unlink()


def _trash_folders(path: Path) -> list[Path]:
    from send2trash import plat_other

    folders = [Path(plat_other.HOMETRASH)]
    with contextlib.suppress(OSError):
        top = Path(os.fsdecode(plat_other.find_mount_point(os.fsencode(path.parent))))
        uid = os.getuid()
        folders += [top / ".Trash" / str(uid), top / f".Trash-{uid}"]
    return [f for f in folders if (f / "info").is_dir()]


def _find_in_trash(path: Path) -> Trashed | None:
    """The newest trash entry whose .trashinfo names `path`."""
    found: list[tuple[str, Path, Path]] = []
    for folder in _trash_folders(path):
        for info in (folder / "info").glob("*.trashinfo"):
            original, deleted = _read_info(info, folder)
            if original == path:
                found.append(
                    (deleted, folder / "files" / info.name.removesuffix(".trashinfo"), info)
                )
    if not found:
        return None
    _deleted, file, info = max(found)
    return Trashed(path, file, info)


def _read_info(info: Path, folder: Path) -> tuple[Path | None, str]:
    original, deleted = None, ""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for line in info.read_text(encoding="utf-8").splitlines():
            if line.startswith("Path="):
                value = Path(unquote(line[5:]))
                # A relative Path is relative to the trash's top folder (a mount point).
                original = value if value.is_absolute() else folder.parent.parent / value
            elif line.startswith("DeletionDate="):
                deleted = line[13:]
    return original, deleted
