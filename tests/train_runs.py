"""Test support: a short training of a classic family run to a file in the test's runtime,
as the app queues it (a TrainRequest on the bundled digits unless another set is named)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.context import JobContext
from engine.runtime import Runtime


def train_to_file(
    runtime: Runtime,
    folder: Path,
    name: str,
    steps: int,
    seed: int = 7,
    *,
    family: Family,
    batch_size: int = 0,
    dataset: str = "digits",
    **request: Any,
) -> Path:
    """Train `family` for `steps` into folder/name.safetensors and return that path;
    `batch_size` 0 is the preset's, `request` the TrainRequest's other fields
    (resume_from, say)."""
    output = folder / f"{name}.safetensors"
    training = Training(steps=steps, seed=seed, batch_size=batch_size)
    runtime.run(
        TrainRequest(
            family=family,
            preset="digits",
            dataset=DatasetRef(dataset),
            training=training,
            output=str(output),
            **request,
        ),
        JobContext(1),
    )
    return output
