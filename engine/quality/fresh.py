"""Which samples deserve credit at all: realistic, and neither a copy nor a repeat.

Every figure that claims quality counts only these "fresh" samples, so that no degenerate
output scores: a classifier is sure of much of uniform noise (the shapes reader read 98 %
of it as shapes), a featureless image sits nearer to sparse images than real images sit
to each other, one good picture repeated is as recognisable as the picture, and the
training images themselves are perfect. A sample is

- realistic: as near the data as 95 % of real unseen images are, and with at least half
  the contrast of the data's least contrasted image (a constant image has none; nearness
  alone lets a white square pass as a small shape on white);
- a copy: nearer a training image than half the typical distance of an unseen image to
  its nearest training image;
- a repeat: that near to an earlier sample of the same batch (the first one counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

COPY_SHARE = 0.5  # of the median distance of an unseen image to the training images
REAL_QUANTILE = 0.95
CONTRAST_SHARE = 0.5  # of the least contrasted data image
# A class (a kind) is covered when its fresh recognised samples are at least this share of
# all samples, and at least two: one picture repeated covers nothing.
CLASS_SHARE = 0.01


@dataclass(frozen=True)
class Reference:
    """What samples are judged against."""

    data: torch.Tensor  # the images the models learned from (copies are copies of these)
    unseen_distances: torch.Tensor  # real unseen images' distances to the nearest of data


@dataclass(frozen=True)
class Judged:
    realistic: torch.Tensor  # bool per sample
    copy: torch.Tensor
    repeat: torch.Tensor

    @property
    def fresh(self) -> torch.Tensor:
        return self.realistic & ~self.copy & ~self.repeat


def flat(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1).float()


def contrast(images: torch.Tensor) -> torch.Tensor:
    """Each image's spread over its pixels, channel by channel, averaged: 0 for any one
    colour (across channels, a plain red would have plenty)."""
    return images.float().flatten(2).std(2).mean(1)


def judge(samples: torch.Tensor, reference: Reference) -> Judged:
    data = flat(reference.data)
    nearest = torch.cdist(flat(samples), data).min(1).values
    near_enough = nearest <= reference.unseen_distances.quantile(REAL_QUANTILE)
    contrasted = contrast(samples) >= CONTRAST_SHARE * contrast(reference.data).min()
    apart = COPY_SHARE * reference.unseen_distances.median()
    between = torch.cdist(flat(samples), flat(samples))
    earlier = torch.ones_like(between, dtype=torch.bool).tril(-1)  # j < i
    return Judged(
        realistic=near_enough & contrasted,
        copy=nearest < apart,
        repeat=((between < apart) & earlier).any(1),
    )


def figures(samples: torch.Tensor, judged: Judged, real: torch.Tensor) -> dict[str, float]:
    """realism (fresh share), diversity (of the fresh samples, times their share: noise,
    a repeated picture and copies score 0), copies and repeats (shares)."""
    fresh = judged.fresh
    share = fresh.float().mean().item()
    spread = (
        mean_distance(samples[fresh]) / mean_distance(real[: len(samples)])
        if fresh.sum() > 1
        else 0.0
    )
    return {
        "realism": share,
        "diversity": share * spread,
        "copies": judged.copy.float().mean().item(),
        "repeats": judged.repeat.float().mean().item(),
    }


def covered(classes: torch.Tensor, credited: torch.Tensor) -> float:
    """How many classes hold at least CLASS_SHARE of the samples (and two) among the
    credited ones (fresh and recognised)."""
    least = max(2, CLASS_SHARE * len(classes))
    counts = torch.bincount(classes[credited], minlength=1)
    return float((counts >= least).sum())


def mean_distance(images: torch.Tensor) -> float:
    rows = flat(images)
    return float(torch.cdist(rows, rows).sum() / (len(rows) * (len(rows) - 1)))
