"""Scoring a classic model: its samples read by the meters, against real data.

- recognisable: the share of samples the meter recognises with p >= 0.9 (digits: the
  calibrated classifier; shapes: the kind reader), beside the same share for real data;
- classes: how many classes (kinds) the recognised samples cover;
- diversity: mean pairwise distance of the samples over that of real images (1: as
  varied as the data; a collapsed model tends to 0);
- copies: the share of samples nearly identical to a training image (nearer than half
  the typical distance of an unseen real image to its nearest training image);
- VAE: the negative ELBO and reconstruction error on held-out images.
"""

from __future__ import annotations

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
from engine.quality.meters import (
    DIGITS_METER,
    SHAPES_METER,
    ShapesReader,
    digit_classifier,
    load_meter,
)
from engine.quality.splits import digit_splits

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
    values: dict[str, float] = {"samples": count}
    if dataset == "digits":
        values.update(_digits(samples[:, :1]))
    elif dataset == "shapes":
        values.update(_shapes(samples))
    elif dataset == "emoji":
        values.update(_reference(samples, torch.from_numpy(load_emoji()[0]), None))
    return Score(values, dataset)


def _digits(samples: torch.Tensor) -> dict[str, float]:
    meter = load_meter(DIGITS_METER, digit_classifier())
    x, _y, split = digit_splits()
    with torch.no_grad():
        p = (meter.net(samples) / meter.temperature).softmax(1)
    confidence, predicted = p.max(1)
    recognised = confidence >= CONFIDENT
    return {
        "recognisable": recognised.float().mean().item(),
        "real_digits_recognisable": meter.record["held_out_recognisable"],
        "classes": float(len(set(predicted[recognised].tolist()))),
        **_reference(samples, x, (x[split["held_out"]], x[split["train"]])),
    }


def _shapes(samples: torch.Tensor) -> dict[str, float]:
    meter = load_meter(SHAPES_METER, ShapesReader())
    real_images, _ = ShapesData(seed=4242).batch(len(samples))
    real = torch.from_numpy(real_images.transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        logits, factors = meter.net(samples)
        _real_logits, real_factors = meter.net(real)
    confidence, kind = logits.softmax(1).max(1)
    recognised = confidence >= CONFIDENT
    # The factors the reader recovers from the samples (x, y, scale, hue as cos/sin)
    # should spread as widely as those of real shapes: a model that draws every shape in
    # the middle, or in one colour, covers little of the factor space.
    spread = factors[recognised].std(0) / real_factors.std(0) if recognised.sum() > 1 else None
    return {
        "recognisable": recognised.float().mean().item(),
        "real_shapes_recognisable": meter.record["held_out_recognisable"],
        "kinds": float(len(set(kind[recognised].tolist()))),
        "factor_coverage": spread.clamp(max=1).mean().item() if spread is not None else 0.0,
        "diversity": _mean_distance(samples) / _mean_distance(real),
    }


def _reference(
    samples: torch.Tensor, data: torch.Tensor, split: tuple[torch.Tensor, torch.Tensor] | None
) -> dict[str, float]:
    """Diversity against the data, and copies of it."""
    flat = samples.reshape(len(samples), -1)
    data_flat = data.reshape(len(data), -1)
    nearest = torch.cdist(flat, data_flat).min(1).values
    if split is not None:  # an unseen image's distance to the training images: the scale
        unseen, seen = split
        real_nearest = (
            torch.cdist(unseen.reshape(len(unseen), -1), seen.reshape(len(seen), -1)).min(1).values
        )
    else:  # no held-out part: each image's nearest other image
        distances = torch.cdist(data_flat, data_flat)
        distances.fill_diagonal_(float("inf"))
        real_nearest = distances.min(1).values
    return {
        "diversity": _mean_distance(samples) / _mean_distance(data[: len(samples)]),
        "copies": (nearest < 0.5 * real_nearest.median()).float().mean().item(),
        # As near the data as 95 % of real unseen images are. The classifier alone is fooled
        # by what is no digit at all (it is sure of half of uniform noise): this is the check.
        "realism": (nearest <= real_nearest.quantile(0.95)).float().mean().item(),
    }


def _mean_distance(images: torch.Tensor) -> float:
    flat = images.reshape(len(images), -1)
    return float(torch.cdist(flat, flat).sum() / (len(flat) * (len(flat) - 1)))


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
