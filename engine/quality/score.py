"""Scoring a classic model: its samples read by the meters, against real data.

Every figure that claims quality counts only "fresh" samples (engine/quality/fresh.py):
realistic, and neither a copy of a training image nor a repeat of another sample. So
uniform noise, constant images, one picture repeated and the training images score 0.

- recognisable: the share of samples that are fresh and that the meter recognises with
  p >= 0.9 (digits: the calibrated classifier; shapes: the kind reader), beside the same
  share for real unseen data;
- classes (kinds): how many classes hold at least 1 % of the samples as fresh recognised;
- realism: the share of fresh samples;
- diversity: the fresh samples' mean pairwise distance over that of real images, times
  their share (1: as varied as the data; a collapsed model tends to 0);
- copies, repeats: the shares of samples nearly identical to a training image (nearer than
  half the typical distance of an unseen real image to its nearest training image), or to
  an earlier sample;
- VAE: the negative ELBO and reconstruction error on held-out images.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from engine.api.catalogue import model_path
from engine.api.limits import SAMPLE_COUNT
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.context import JobContext
from engine.data.emoji import load_emoji
from engine.data.shapes import ShapesData
from engine.models.common.modelfile import read_model_file
from engine.quality.fresh import CLASS_SHARE, Reference, covered, figures, judge
from engine.quality.meters import (
    DIGITS_METER,
    SHAPES_METER,
    ShapesReader,
    digit_classifier,
    load_meter,
)
from engine.quality.splits import digit_splits
from engine.train.datasets import ShapesSource

SAMPLES = 500
CONFIDENT = 0.9


@dataclass(frozen=True)
class Score:
    values: dict[str, float]
    dataset: str  # the data set the model was trained on, from its record


def score_model(
    runtime, ref: ModelRef, count: int = SAMPLES, ctx: JobContext | None = None
) -> Score:
    """Draw `count` samples (seeds 0..count-1) through the runtime and measure them."""
    _tensors, record = read_model_file(model_path(ref), ref.family, "python -m engine.train")
    dataset = str(record.get("meta", {}).get("dataset", ""))
    pixels = []
    for first in range(0, count, SAMPLE_COUNT.high):  # as many jobs as the count limit needs
        request = SampleRequest(
            model=ref, seed=first, count=min(int(SAMPLE_COUNT.high), count - first), save=False
        )
        job = (
            JobContext(0, previews=False)
            if ctx is None
            else JobContext(ctx.job_id, control=ctx.control, previews=False)
        )
        outcome = runtime.run(request, job)
        pixels += [image.rgb for image in outcome.images]
    samples = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).float() / 255
    return Score({"samples": count, **measure(dataset, samples)}, dataset)


def measure(dataset: str, samples: torch.Tensor) -> dict[str, float]:
    """The meter's figures for samples (N x C x H x W in [0, 1]) of a model trained on a
    bundled data set; {} for any other data."""
    if dataset == "digits":
        return _digits(samples[:, :1])
    if dataset == "shapes":
        return _shapes(samples)
    if dataset == "emoji":
        return _emoji(samples)
    return {}


def _digits(samples: torch.Tensor, learned: torch.Tensor | None = None) -> dict[str, float]:
    """`learned`: the digits the model learned from (default: all of them, as the presets
    do); real unseen digits are measured against the training half instead."""
    meter = load_meter(DIGITS_METER, digit_classifier())
    x, _y, split = digit_splits()
    unseen, seen = x[split["held_out"]], x[split["train"]]
    scale = _nearest(unseen, seen)  # an unseen digit's distance to the training half
    reference = Reference(x if learned is None else learned, scale)

    def recognised(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            p = (meter.net(images) / meter.temperature).softmax(1)
        confidence, predicted = p.max(1)
        return confidence >= CONFIDENT, predicted

    judged = judge(samples, reference)
    confident, predicted = recognised(samples)
    credited = confident & judged.fresh
    real_confident, _ = recognised(unseen)
    return {
        "recognisable": credited.float().mean().item(),
        # The same rule on real unseen digits, judged against the training half: the scale.
        "real_digits_recognisable": (
            (real_confident & judge(unseen, Reference(seen, scale)).fresh).float().mean().item()
        ),
        "classes": covered(predicted, credited),
        **figures(samples, judged, x),
    }


def _shapes(samples: torch.Tensor) -> dict[str, float]:
    meter = load_meter(SHAPES_METER, ShapesReader())
    real_images, _ = ShapesData(seed=4242).batch(len(samples))
    real = torch.from_numpy(real_images.transpose(0, 3, 1, 2).copy())
    reference = shapes_reference()
    with torch.no_grad():
        logits, factors = meter.net(samples)
        real_logits, real_factors = meter.net(real)
    judged = judge(samples, reference)
    confidence, kind = logits.softmax(1).max(1)
    credited = (confidence >= CONFIDENT) & judged.fresh
    real_credited = (real_logits.softmax(1).max(1).values >= CONFIDENT) & judge(
        real, reference
    ).fresh
    # The factors the reader recovers from the samples (x, y, scale, hue as cos/sin)
    # should spread as widely as those of real shapes: a model that draws every shape in
    # the middle, or in one colour, covers little of the factor space.
    enough = credited.sum() >= max(2, CLASS_SHARE * len(samples))
    spread = factors[credited].std(0) / real_factors.std(0) if enough else None
    return {
        "recognisable": credited.float().mean().item(),
        "real_shapes_recognisable": real_credited.float().mean().item(),
        "kinds": covered(kind, credited),
        "factor_coverage": spread.clamp(max=1).mean().item() if spread is not None else 0.0,
        **figures(samples, judged, real),
    }


def _emoji(samples: torch.Tensor) -> dict[str, float]:
    """Emoji have no classes and no unseen part: each emoji's nearest other emoji is the
    scale, and the models learned from all of them."""
    data = torch.from_numpy(load_emoji()[0])
    distances = torch.cdist(data.reshape(len(data), -1), data.reshape(len(data), -1))
    distances.fill_diagonal_(float("inf"))
    return figures(samples, judge(samples, Reference(data, distances.min(1).values)), data)


# The shapes the meter calls the training data: the first 2,048 the presets draw (seed 0,
# 64 at a time). The set is infinite, so a model cannot have memorised it; what counts as
# a copy is a copy of these, and fresh draws measure the distances of unseen shapes.
SHAPES_SEEN = (0, 64, 32)  # seed, batch, batches


@functools.cache
def shapes_reference() -> Reference:
    seed, batch, batches = SHAPES_SEEN
    source = ShapesSource(32, seed)
    seen = torch.cat([source.batch(batch)[0] for _ in range(batches)])
    unseen = torch.from_numpy(ShapesData(seed=4242).batch(500)[0].transpose(0, 3, 1, 2).copy())
    return Reference(seen, _nearest(unseen, seen))


def _nearest(images: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
    return torch.cdist(images.reshape(len(images), -1), data.reshape(len(data), -1)).min(1).values


def held_out_images_like(dataset: str, channels: int, size: int) -> torch.Tensor | None:
    """held_out_images when they have a model's channels and size (None otherwise: a
    model trained at another size, or a data set with no held-out part)."""
    images = held_out_images(dataset)
    if images is None or images.shape[1:] != (channels, size, size):
        return None
    return images


def held_out_images(dataset: str) -> torch.Tensor | None:
    """Images of a bundled data set that its presets never trained on (None: no such part).

    Digits: the held-out half. Shapes: fresh draws of the infinite set. Emoji: the last
    200 of the set, which training saw too: there is no unseen emoji.
    """
    if dataset == "digits":
        x, _y, split = digit_splits()
        return x[split["held_out"]]
    if dataset == "shapes":
        return torch.from_numpy(ShapesData(seed=4242).batch(500)[0].transpose(0, 3, 1, 2).copy())
    if dataset == "emoji":
        return torch.from_numpy(load_emoji()[0][-200:])
    return None


def score_lines(values: dict[str, float]) -> list[str]:
    """`name: value` lines; counts print as whole numbers."""
    return [
        f"{name}: {int(value)}" if float(value).is_integer() else f"{name}: {value:.4g}"
        for name, value in values.items()
    ]
