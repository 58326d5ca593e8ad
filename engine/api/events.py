"""Events the engine sends to whoever submitted a job, in this order for each job:

    Queued, Started, (Progress | Preview | Metrics | Frames | Paused | Resumed)*,
    then exactly one of Finished, Cancelled, Failed.

A job removed from its queue before it started goes Queued -> Cancelled. DeviceInfo
arrives on its own, when the engine starts and whenever the device changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.api.kinds import ErrorKind, Lane
from engine.api.outcomes import Outcome
from engine.api.requests import Request


@dataclass(frozen=True)
class Event:
    job_id: int


@dataclass(frozen=True)
class Queued(Event):
    request: Request
    lane: Lane


@dataclass(frozen=True)
class Started(Event):
    request: Request
    worker: str = ""  # the cluster worker that runs it; "" on this computer


@dataclass(frozen=True)
class Progress(Event):
    """`step` of `total` in the units the user asked for (20 steps means "Step k/20")."""

    step: int
    total: int
    eta_s: float | None = None
    it_per_s: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Preview(Event):
    rgb: np.ndarray  # H x W x 3 uint8, a copy owned by the receiver


@dataclass(frozen=True)
class Metrics(Event):
    """Numbers measured at a step (training losses, images/s…), throttled like previews."""

    step: int
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Frames(Event):
    """Images to show while a job runs (a training sample grid…), not saved."""

    frames: tuple[np.ndarray, ...]
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Paused(Event):
    pass


@dataclass(frozen=True)
class Resumed(Event):
    pass


@dataclass(frozen=True)
class Finished(Event):
    outcome: Outcome


@dataclass(frozen=True)
class Cancelled(Event):
    pass


@dataclass(frozen=True)
class Failed(Event):
    message: str
    kind: ErrorKind = ErrorKind.INTERNAL


ENDINGS = (Finished, Cancelled, Failed)


@dataclass(frozen=True)
class DeviceInfo:
    device: str  # "cuda", "mps", "cpu"
    dtype: str  # the inference dtype of diffusion models there: "float16", "float32"
    description: str  # for the status bar: "CUDA · RTX 4090 · fp16"
    detail: str = ""  # why that numeric path (the status bar's tooltip)
    note: str = ""  # a sentence to say once beside it ("Could not reach the cluster…")
