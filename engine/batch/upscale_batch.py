"""A folder upscale as a batch: the input files, each with the key the batch journal
knows it by, and the whole batch's progress.

The key is the file's resolved path, size and modification time, with the settings that
change the picture (model, scale, tile); the journal (engine/batch/batch_journal.py) is
one per output folder and settings. A file given twice (as itself and in its folder) is
one item. No torch here: the window plans and journals its batches with this too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.api.imagefiles import expand_image_inputs
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests import UpscaleRequest
from engine.batch.batch_journal import file_key
from engine.batch.cli_progress import duration


@dataclass(frozen=True)
class UpscaleSettings:
    model: ModelRef
    scale: float = 0.0
    tile: int = -1
    allow_large: bool = False  # the user's consent, not a setting of the picture

    def data(self) -> dict[str, object]:
        """What makes another picture of the same file: another batch. A model file is
        known by its size and modification time too (a retrained file is another model)."""
        model: list[object] = [self.model.id]
        path = Path(self.model.id).expanduser()
        if path.is_file():
            stat = path.stat()
            model += [stat.st_size, stat.st_mtime_ns]
        return {"model": model, "scale": float(self.scale), "tile": int(self.tile)}

    def request(self, path: Path) -> UpscaleRequest:
        return UpscaleRequest(
            model=self.model,
            image=ImageRef(str(path), ""),
            scale=self.scale,
            tile=self.tile,
            allow_large=self.allow_large,
        )


@dataclass(frozen=True)
class UpscaleItem:
    number: int  # its place in the batch, from 1
    path: Path
    key: str


@dataclass
class UpscalePlan:
    items: list[UpscaleItem] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)  # path, why not


def plan_upscale(inputs: list[Path], settings: UpscaleSettings) -> UpscalePlan:
    """Every image of the inputs (files, and the images directly inside folders) once."""
    files, missing = expand_image_inputs(inputs)
    plan = UpscalePlan(problems=[(path, "no such file or folder") for path in missing])
    data = settings.data()
    seen: set[Path] = set()
    for path in files:
        try:
            resolved = path.resolve()
            key = file_key(resolved, data)
        except (OSError, RuntimeError) as exc:  # gone since listed, a link loop
            plan.problems.append((path, f"could not be read ({getattr(exc, 'strerror', exc)})"))
            continue
        if resolved in seen:
            continue
        seen.add(resolved)
        plan.items.append(UpscaleItem(len(plan.items) + 1, path, key))
    return plan


class BatchClock:
    """How far a batch of `total` items is, and when it should end: the time per item
    this run (failures included: they took their time too) times the items left."""

    def __init__(self, total: int, before: int = 0, clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.made = before
        self.failed = 0
        self._here = 0
        self._clock = clock
        self._start = clock()

    def ended(self, made: bool) -> None:
        self._here += 1
        if made:
            self.made += 1
        else:
            self.failed += 1

    @property
    def left(self) -> int:
        return max(0, self.total - self.made - self.failed)

    def eta_s(self) -> float | None:
        if not self._here or not self.left:
            return None
        return (self._clock() - self._start) / self._here * self.left

    def line(self) -> str:
        """`upscale: 12/40 images, 1 failed, about 3 min left`."""
        failed = f", {self.failed} failed" if self.failed else ""
        eta = self.eta_s()
        left = f", about {duration(eta)} left" if eta is not None else ""
        return f"upscale: {self.made}/{self.total} images{failed}{left}"
