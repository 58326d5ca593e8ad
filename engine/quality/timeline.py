"""The timeline's measures of one Lab model: what the Lab's history table shows beside
the meter's figures.

- held-out bits per dimension, under the key its family's spec names (exact, a bound or
  an estimate; none for a family that gives no likelihood, as a GAN);
- the seconds to draw `count` samples (seeds 0…count-1), the model already loaded: the
  cost a learner waits for, not the file's first read;
- parameters: the numbers in the model file (what sampling needs, nothing of training);
- training seconds, where the figures beside the model keep them (`python -m
  engine.train` writes them beside a bundled model; not in the model file, which stays
  byte for byte the same for the same seed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from engine.api import families
from engine.api.catalogue import model_path
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest, ScoreRequest
from engine.context import JobContext
from engine.models.common.modelfile import read_model_file
from engine.quality.record import load_quality

TRAINING_SECONDS = "training_seconds"


def timeline_values(
    runtime, request: ScoreRequest, ctx: JobContext, held_out: Callable[[str], dict[str, float]]
) -> dict[str, float]:
    """The row's measures; `held_out(dataset)` is the family's own held-out figures."""
    path = model_path(request.model)
    tensors, record = read_model_file(path, request.model.family, "python -m engine.train")
    meta = record.get("meta", {})
    values = {"parameters": float(sum(t.numel() for t in tensors.values()))}
    del tensors
    ctx.phase = "timing the samples"
    values["sample_seconds"] = sampling_seconds(runtime, request.model, request.count, ctx)
    trained = load_quality(path).get(TRAINING_SECONDS)
    if trained is not None:
        values[TRAINING_SECONDS] = trained
    likelihood = families.spec_of(request.model.family).likelihood
    if likelihood is not None:
        ctx.phase = "scoring the held-out images"
        figure = held_out(str(meta.get("dataset", ""))).get(likelihood.score_key)
        if figure is not None:
            values[likelihood.score_key] = float(figure)
    return values


def sampling_seconds(runtime, model: ModelRef, count: int, ctx: JobContext) -> float:
    """Wall seconds for `count` samples in one job, after a one-sample job has loaded the
    model (and paid any first-call cost)."""

    def draw(n: int) -> None:
        job = JobContext(ctx.job_id, control=ctx.control, previews=False)
        runtime.run(SampleRequest(model=model, seed=0, count=n, save=False), job)

    draw(1)
    started = time.perf_counter()
    draw(count)
    return time.perf_counter() - started
