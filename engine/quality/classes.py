"""Per-class figures of a class-conditional model: asked for each class, how often does it
draw that class? The meter reads the samples (digits: the classifier; shapes: the kind
reader). ddpm-shapes drew almost no hearts when asked for one, which the overall figures,
read over samples of random classes, did not show.
"""

from __future__ import annotations

import torch

from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.api.sample_options import DiffusionSampleOptions
from engine.context import JobContext
from engine.quality.meters import (
    DIGITS_METER,
    SHAPES_METER,
    ShapesReader,
    digit_classifier,
    load_meter,
)

PER_CLASS = 40
PREFIX = "class:"  # the figures' names: "class:heart" (the GUI shows them so)


def per_class(
    runtime, ref: ModelRef, dataset: str, classes: list[str], count: int = 500
) -> dict[str, float]:
    """{"class:<name>": share of the samples asked for that class and read as it, with the
    meter's confidence}; {} for data sets without a reader. `count`: the score's own
    sample count, which bounds the cost (PER_CLASS a class at 500 samples, fewer below)."""
    if dataset not in ("digits", "shapes") or not classes:
        return {}
    each = max(4, min(PER_CLASS, count // len(classes)))
    figures = {}
    for label, name in enumerate(classes):
        options = DiffusionSampleOptions(label=label)
        request = SampleRequest(model=ref, seed=0, count=each, options=options, save=False)
        outcome = runtime.run(request, JobContext(0, previews=False))
        pixels = torch.stack([torch.from_numpy(image.rgb) for image in outcome.images])
        samples = pixels.permute(0, 3, 1, 2).float() / 255
        read = _read(dataset, samples)
        figures[PREFIX + name] = (read == label).float().mean().item()
    return figures


def _read(dataset: str, samples: torch.Tensor) -> torch.Tensor:
    """The class the meter is sure of (p >= 0.9) per sample, -1 where it is not sure."""
    from engine.quality.score import CONFIDENT

    with torch.no_grad():
        if dataset == "digits":
            meter = load_meter(DIGITS_METER, digit_classifier())
            p = (meter.net(samples[:, :1]) / meter.temperature).softmax(1)
        else:
            p = load_meter(SHAPES_METER, ShapesReader()).net(samples)[0].softmax(1)
    confidence, read = p.max(1)
    return torch.where(confidence >= CONFIDENT, read, -1)
