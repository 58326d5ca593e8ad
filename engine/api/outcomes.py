"""What a finished job hands back. A runner returns exactly one kind of outcome.

- ImagesOutcome: images, saved to the gallery when the request says so, composed first
  into one sheet when the outcome says so (engine.finishing);
- FramesOutcome: a sequence shown but not saved (latent sliders, interpolations, filmstrips);
- VectorsOutcome: numbers (a score, a seed's latent code);
- AxesOutcome: a model's latent slider axes, each with what it moves;
- ModelOutcome: a model file written by training, with its last metrics (and, from a
  cluster worker, the run's files as bytes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

# A private key of ResultImage.info: the control maps a job made (H x W x 3 uint8
# arrays), which finishing keeps in the gallery's inputs/ and replaces with their
# references ("control_maps"), or drops when the image is not saved. Never in a PNG.
CONTROL_MAPS_KEY = "_control_map_pixels"
# A private key of ResultImage.info: the request that made this image when it is not the
# job's own (an X/Y/Z plot's cell, engine.batch): finishing saves the image with that
# request as its recipe, then drops the key. Never in a PNG.
OWN_REQUEST_KEY = "_own_request"
# A key of ResultImage.info and the recipe: the cluster worker that made the image
# ("Ray cluster: worker 1 (gpu-box)"); absent for an image made on this computer.
WORKER_KEY = "made_on"


@dataclass(frozen=True)
class ResultImage:
    """One image a job made. `path` is None until saved, or when saving failed."""

    rgb: np.ndarray  # H x W x 3 uint8
    seed: int | None
    index: int = 0  # position in its batch
    info: dict[str, Any] = field(default_factory=dict)  # model id/sha256, device, dtype…
    path: str | None = None
    save_error: str | None = None
    # The PNG text chunks (parameters + recipe) of an image that is not in the gallery,
    # so "Save Image As…" writes it with its full recipe.
    png_text: dict[str, str] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def json_line(self) -> str:
        """What the command line prints for each image written."""
        fields = {"path": self.path, "seed": self.seed, "width": self.width, "height": self.height}
        return json.dumps(fields)


class Outcome:
    """Base of every outcome."""


class Sheet(Enum):
    """How a job's images are kept: one file each, or one sheet whose recipe lists what
    each cell was (seeds, t, operands) and the layout that cuts them back out."""

    NONE = "none"  # one file per image
    GRID = "grid"  # a near-square sheet (the Lab's samples)
    STRIP = "strip"  # one row (a walk's frames)
    EQUATION = "equation"  # one row with −, + and = drawn between (latent arithmetic)


@dataclass(frozen=True)
class ImagesOutcome(Outcome):
    images: tuple[ResultImage, ...]
    sheet: Sheet = Sheet.NONE  # set by the runner from what the request asked for


@dataclass(frozen=True)
class FramesOutcome(Outcome):
    frames: tuple[np.ndarray, ...]  # each H x W x 3 uint8
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class VectorsOutcome(Outcome):
    vectors: tuple[tuple[float, ...], ...]
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class LatentAxis:
    """One latent slider: a unit direction in latent space and the data's spread along it
    (a slider at v moves the code by v x spread along the direction)."""

    direction: tuple[float, ...]
    spread: float
    label: str  # "z7 · 2.31 nats", "PC 1 · 12 % of the variance"
    # The known factors it moves (shapes models), strongest first, in units of how much
    # two random real shapes differ in that factor: (("x", 1.4), ("hue", 0.6)).
    moves: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class AxesOutcome(Outcome):
    axes: tuple[LatentAxis, ...]
    how: str  # one sentence: how the axes were found and ordered


@dataclass(frozen=True)
class ModelOutcome(Outcome):
    path: str  # the model file (.safetensors, with its .json beside it)
    step: int  # the training step it holds
    metrics: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False  # the user pressed Stop: the file holds the last step done
    # The run folder's files by name, as bytes, when the training ran elsewhere (a cluster
    # worker's scratch folder, gone since): engine.cluster.run_files lands them beside
    # `path`. Empty for a run on this computer, whose files are on its disk already.
    files: tuple[tuple[str, bytes], ...] = ()

    def json_line(self) -> str:
        return json.dumps({"checkpoint": self.path, "step": self.step, **self.metrics})
