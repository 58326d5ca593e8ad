"""Where an image goes: `<root>/YYYY-MM-DD/NNNNN-<seed>-<slug>.png`.

NNNNN is the next free counter in that day's folder. Two saves racing for it (the
worker and a "Save as" thread, or two app windows) are kept apart by a reservation: a
hidden marker `.NNNNN.reserved`, created with O_EXCL, holding the writer's process id,
and removed once the PNG is in place.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from engine.api.naming import model_name, slugify
from engine.api.prompt_syntax import plain_words

COUNTER_DIGITS = 5
RESERVED_SUFFIX = ".reserved"
STALE_RESERVATION_S = 3600.0
EMPTY_MARKER_GRACE_S = 30.0

_COUNTER = re.compile(r"^\.?(\d{5,})[-.]")


def day_folder(root: Path, when: datetime) -> Path:
    return Path(root) / when.strftime("%Y-%m-%d")


def image_slug(text: str, model: str = "") -> str:
    """A file name's words: the prompt's words without its syntax (weights, LoRA tags)."""
    return slugify(plain_words(text)) or slugify(model_name(model)) or "image"


def file_name(counter: int, seed: int | None, slug: str) -> str:
    seed_part = "x" if seed is None else str(seed)
    return f"{counter:0{COUNTER_DIGITS}d}-{seed_part}-{slug}.png"


def counter_of(name: str) -> int | None:
    """The counter of a gallery file or reservation name, None for anything else."""
    match = _COUNTER.match(name)
    return int(match.group(1)) if match else None


def next_counter(folder: Path) -> int:
    """One past the highest counter used or reserved in `folder` (1 in an empty one)."""
    with os.scandir(folder) as entries:
        used = [c for c in (counter_of(e.name) for e in entries) if c is not None]
    return max(used, default=0) + 1


@dataclass(frozen=True)
class Reservation:
    path: Path  # where the PNG goes
    marker: Path  # the hidden file that holds the counter


@contextlib.contextmanager
def reserve(root: Path, when: datetime, seed: int | None, slug: str) -> Iterator[Reservation]:
    """Hold the next free counter of the day folder while the caller writes `path`.

    Raises OSError when the folder cannot be created or written.
    """
    folder = day_folder(root, when)
    folder.mkdir(parents=True, exist_ok=True)
    reservation = _claim(folder, seed, slug)
    try:
        yield reservation
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(reservation.marker)


def marker_is_live(marker: Path) -> bool:
    """Whether a reservation belongs to a save still running (in any process).

    A marker holds its writer's process id; a marker whose process is gone was left by
    a crash or a kill. An empty one (killed between creating and writing it) is live
    only for its first seconds; any marker is stale after an hour (pids get reused).
    """
    try:
        stat = marker.stat()
        text = marker.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return False
    age = time.time() - stat.st_mtime
    if age > STALE_RESERVATION_S:
        return False
    if not text.isdigit():
        return age < EMPTY_MARKER_GRACE_S
    pid = int(text)
    return pid == os.getpid() or psutil.pid_exists(pid)


def marker_for_counter(folder: Path, counter: int) -> Path:
    return folder / f".{counter:0{COUNTER_DIGITS}d}{RESERVED_SUFFIX}"


def _claim(folder: Path, seed: int | None, slug: str) -> Reservation:
    counter = next_counter(folder)
    while True:
        marker = marker_for_counter(folder, counter)
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            counter += 1
            continue
        try:
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        except OSError:
            # A full disk can refuse even these few bytes: take the marker away again,
            # or every failed save would leave one behind.
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(marker)
            raise
        os.close(fd)
        # Our scan may predate a PNG someone wrote under this counter and released;
        # now that we hold the marker no new one can appear, so this check is final.
        if not _counter_taken(folder, counter):
            return Reservation(folder / file_name(counter, seed, slug), marker)
        os.unlink(marker)
        counter += 1


def _counter_taken(folder: Path, counter: int) -> bool:
    prefix = f"{counter:0{COUNTER_DIGITS}d}-"
    with os.scandir(folder) as entries:
        return any(e.name.startswith(prefix) for e in entries)
