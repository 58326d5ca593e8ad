"""What the gallery hands out: a grid row (`GalleryItem`) and the difference between the
index and the folder (`Difference`). Plain data, no file access."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.store.index_rows import IndexRecord

_EPOCH = datetime.fromtimestamp(0).astimezone()


@dataclass(frozen=True)
class GalleryItem:
    """One row of the gallery grid."""

    path: Path
    created: datetime  # local time, timezone-aware
    kind: str  # "txt2img", "sample", ... or "external" for other tools' images
    prompt: str
    model: str
    seed: int | None
    width: int
    height: int


@dataclass(frozen=True)
class Difference:
    missing: list[str]  # PNGs on disk that the index does not list
    extra: list[str]  # index rows whose file is gone (or whose path is not a safe one)

    @property
    def consistent(self) -> bool:
        return not self.missing and not self.extra


def item_of(record: IndexRecord, path: Path) -> GalleryItem:
    """The grid row of an index record whose file is at `path`."""
    return GalleryItem(
        path=path,
        created=_local_time(record.created),
        kind=record.kind,
        prompt=record.prompt,
        model=record.model,
        seed=record.seed,
        width=record.width,
        height=record.height,
    )


def _local_time(timestamp: float) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp).astimezone()
    except (OverflowError, OSError, ValueError):
        return _EPOCH  # a date no clock can show: listed last, never a crash
