"""The Upscale mode's view state: the input images, where each one's job is, and how far
the current batch has got. Plain data (no Qt), so the panel only has to draw it.

A batch is every job started while the previous ones were still running: pressing
Upscale again mid-way adds to it, so "7 of 12" keeps meaning what the user expects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from engine.api.imagefiles import is_image_name


class EntryStatus(str, Enum):
    WAITING = "waiting"  # in the list, not submitted (or submitted and then removed)
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def in_flight(self) -> bool:
        return self in (EntryStatus.QUEUED, EntryStatus.RUNNING)


@dataclass
class UpscaleEntry:
    """One input image and what its latest job did."""

    path: str
    status: EntryStatus = EntryStatus.WAITING
    detail: str = ""  # "tile 3 of 16", why it failed, or the notes on the result
    source_size: tuple[int, int] | None = None  # width, height (read from the header)
    result: str | None = None  # the saved PNG
    result_size: tuple[int, int] | None = None
    too_large: bool = False  # refused by the megapixel guard: the user may confirm
    # Every model's result of this input, by the model's name, the newest last: the
    # compare view can put two models side by side (lite-x4 against lite-x4-gan).
    results: dict[str, str] = field(default_factory=dict)

    def add_result(self, model: str, path: str, size: tuple[int, int]) -> None:
        """A job finished: its result is the row's, and one of the results to compare."""
        self.results.pop(model, None)
        self.results[model] = path
        self.result, self.result_size = path, size

    @property
    def result_model(self) -> str:
        """The name of the model that made the newest result ("" when none has)."""
        return next(reversed(self.results), "")

    @property
    def name(self) -> str:
        return Path(self.path).name

    def ended_without_result(self, status: EntryStatus, reason: str) -> None:
        """A job failed or was cancelled. A result an earlier job made stays the row's
        (it is in the gallery, and the compare view shows it); the reason goes beside it."""
        if self.result is None:
            self.status, self.detail = status, reason
            return
        what = "failed" if status is EntryStatus.FAILED else "was cancelled"
        self.status = EntryStatus.DONE
        self.detail = f"upscaling it again {what}{': ' + reason if reason else ''}"


@dataclass(frozen=True)
class Added:
    """What adding some paths did, so the panel can say what it skipped."""

    entries: list[UpscaleEntry]
    not_images: list[Path]
    missing: list[Path]
    duplicates: int

    def notice(self) -> str:
        parts = []
        if self.not_images:
            count = len(self.not_images)
            parts.append(f"skipped {count} file(s) that are not images ({_names(self.not_images)})")
        if self.missing:
            parts.append(
                f"{len(self.missing)} path(s) no longer exist ({_names(self.missing)}): "
                "moved or deleted?"
            )
        if self.duplicates:
            parts.append(f"{self.duplicates} already in the list")
        added = f"Added {len(self.entries)} image(s)"
        return f"{added}; {'; '.join(parts)}." if parts else f"{added}."


def _names(paths: list[Path]) -> str:
    """The first three names, and "…" for more."""
    return ", ".join(p.name for p in paths[:3]) + ("…" if len(paths) > 3 else "")


class UpscaleInputs:
    """The ordered list of inputs, one entry per file."""

    def __init__(self) -> None:
        self.entries: list[UpscaleEntry] = []

    def add_listed(self, files: list[Path], missing: list[Path]) -> Added:
        """Files already listed (engine.api.imagefiles.expand_image_inputs, off the GUI
        thread: no disk look here), as images by their names; the others are skipped."""
        known = {e.path for e in self.entries}
        new, not_images, duplicates = [], [], 0
        for path in files:
            text = str(path)
            if not is_image_name(path):
                not_images.append(path)
            elif text in known:
                duplicates += 1
            else:
                known.add(text)
                new.append(UpscaleEntry(text))
        self.entries += new
        return Added(new, not_images, missing, duplicates)

    def remove(self, paths: list[str]) -> None:
        gone = set(paths)
        self.entries = [e for e in self.entries if e.path not in gone]

    def clear(self) -> None:
        self.entries = []

    def get(self, path: str) -> UpscaleEntry | None:
        return next((e for e in self.entries if e.path == path), None)

    def row_of(self, path: str) -> int | None:
        return next((i for i, e in enumerate(self.entries) if e.path == path), None)

    def to_submit(self) -> list[UpscaleEntry]:
        """What Upscale starts: every entry not already queued or running."""
        return [e for e in self.entries if not e.status.in_flight]


@dataclass
class BatchProgress:
    """Jobs of the current batch: started, ended, failed, and since when (for its ETA)."""

    total: int = 0
    ended: int = 0
    failed: int = 0
    started: float = 0.0  # time.monotonic() when the batch's first job was submitted

    @property
    def running(self) -> bool:
        return self.ended < self.total

    def submitted(self, now: float | None = None) -> None:
        if not self.running:  # the last batch is over: this job starts a new one
            self.total = self.ended = self.failed = 0
            self.started = time.monotonic() if now is None else now
        self.total += 1

    def eta_s(self, now: float) -> float | None:
        """The whole batch's time left: its time per ended job so far, times the jobs
        left; None before the first job ends, and once the batch is over."""
        if not self.ended or not self.running:
            return None
        return (now - self.started) / self.ended * (self.total - self.ended)

    def job_ended(self, failed: bool) -> None:
        self.ended = min(self.total, self.ended + 1)
        self.failed += failed

    def text(self) -> str:
        if not self.total:
            return ""
        failed = f" · {self.failed} failed" if self.failed else ""
        if self.running:
            return f"{self.ended} of {self.total} done{failed}"
        return f"Finished {self.total - self.failed} of {self.total}{failed}"
