"""A wildcard folder read at once: every `name.txt` (subfolders too, `hair/long`) and its
options, for a window that expands, checks and completes `__name__` without touching
the disk while the user types (gui/wildcard_scanner.py reads it on a thread).

A file that cannot be read, or is over the size a wildcard file may have, is left out
of the listing; naming it then gets engine.batch.wildcards' sentence for a missing file.
"""

from __future__ import annotations

from pathlib import Path

from engine.batch.wildcards import options_of

MAX_FILES = 5000  # a folder of a few thousand lists is large already; more is a mistake
_MAX_FILE_BYTES = 4 * 1024 * 1024


def read_wildcard_folder(folder: Path) -> dict[str, list[str]]:
    """name → options for each .txt under `folder`, in name order; {} without the folder."""
    root = folder.expanduser()
    if not root.is_dir():
        return {}
    listed: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.txt"))[:MAX_FILES]:
        try:
            if not path.is_file() or path.stat().st_size > _MAX_FILE_BYTES:
                continue
            # A link out of the folder is not read, as engine.batch.wildcards refuses it.
            if not path.resolve().is_relative_to(root.resolve()):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        listed[path.relative_to(root).with_suffix("").as_posix()] = options_of(text)
    return listed
