"""The training loop every family's trainer runs in, on the training lane.

Between two steps it honours pause, resume, stop and cancel; a few times a second it sends
Progress and Metrics (the losses averaged since the last report, and images/s) and, about
once a second, a grid of samples as Frames; it
writes a checkpoint every `checkpoint_every` steps and when stopped. A cancel leaves the
last checkpoint on disk untouched; Stop writes one at the step it reached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.api.errors import UserFacingError
from engine.api.kinds import ErrorKind
from engine.context import JobContext

FRAMES_INTERVAL_S = 1.0
FRAMES_SHARE = 0.03
# A loss this large has exploded even while still finite: the steps after it only blow the
# weights up to inf/NaN, so stop here, before a checkpoint saves the ruined weights. The
# largest honest loss of our families is far below: a 64 x 64 x 3 VAE sums BCE over
# 12,288 values, about 8,500 at the start; GAN and DDPM losses are of order 1.
EXPLODED_LOSS = 1e8


class TrainingDiverged(UserFacingError):
    """A loss became NaN, infinite or exploded; the last good checkpoint is kept."""

    kind = ErrorKind.BAD_INPUT  # the cure is a setting the user chose: the learning rate


def diverged(losses: dict[str, float]) -> tuple[str, float] | None:
    """The first loss that is NaN, infinite or beyond EXPLODED_LOSS, with its name."""
    for name, value in losses.items():
        if not math.isfinite(value) or abs(value) > EXPLODED_LOSS:
            return name, value
    return None


def divergence(step: int, name: str, value: float, saved: int | None) -> TrainingDiverged:
    kept = (
        f"The checkpoint of step {saved} is kept."
        if saved
        else "No checkpoint had been written yet."
    )
    return TrainingDiverged(
        f"Training stopped at step {step}: the {name} loss became {value:g}. {kept} "
        "Try a lower learning rate."
    )


class Trainer(Protocol):
    batch_size: int

    def step(self) -> dict[str, float]:
        """One optimizer step; returns its losses."""

    def samples(self) -> list[np.ndarray]:
        """A few samples (H x W x 3 uint8) from the model as it is now."""


@dataclass
class TrainResult:
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False


def run_training(
    trainer: Trainer,
    total_steps: int,
    ctx: JobContext,
    checkpoint: Callable[[int, dict[str, float]], None],
    checkpoint_every: int,
    start_step: int = 0,
) -> TrainResult:
    started = time.perf_counter()
    next_frames = float("-inf")
    losses: dict[str, float] = {}
    since_report = _LossMeans()
    step = start_step
    saved = start_step or None  # the step of the checkpoint on disk (a resumed one's)
    ctx.restart_clock()
    while step < total_steps:
        if ctx.step_boundary():
            checkpoint(step, losses)
            return TrainResult(step, losses, stopped_early=True)
        losses = trainer.step()
        if bad := diverged(losses):
            raise divergence(step + 1, *bad, saved)
        step += 1
        since_report.add(losses)
        if ctx.report(step, total_steps, throttle=True):
            elapsed = time.perf_counter() - started
            rate = (step - start_step) * trainer.batch_size / elapsed if elapsed > 0 else 0.0
            ctx.metrics(step, {**since_report.means(), "images_per_s": rate}, force=True)
            since_report = _LossMeans()
        if time.perf_counter() >= next_frames:
            drawn = time.perf_counter()
            ctx.frames(trainer.samples(), force=True)
            cost = time.perf_counter() - drawn
            # Previews may cost a DDPM many steps' time: keep them under ~3 % of the run.
            next_frames = time.perf_counter() + max(FRAMES_INTERVAL_S, cost / FRAMES_SHARE)
        if step % checkpoint_every == 0 and step < total_steps:
            checkpoint(step, losses)
            saved = step
    checkpoint(step, losses)
    return TrainResult(step, losses)


class _LossMeans:
    """Each loss term averaged over the steps since the last report: a smoother and truer
    curve than the one step that happens to fall on the report."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0

    def add(self, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self._sums[name] = self._sums.get(name, 0.0) + value
        self._count += 1

    def means(self) -> dict[str, float]:
        return {name: total / self._count for name, total in self._sums.items()}
