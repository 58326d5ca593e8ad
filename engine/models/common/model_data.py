"""Images of the data set a Latent Lab model learned from, with their classes: what the
VAE's slider order, its latent map and the forward-process view are measured on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from engine.api.errors import BadInput
from engine.data.shapes import KINDS
from engine.train.datasets import ShapesSource, open_dataset

DATA_SEED = 0  # the same images every time: the order of the sliders does not wander


@dataclass(frozen=True)
class DataSample:
    images: torch.Tensor  # N x C x H x W in [0, 1]
    labels: torch.Tensor | None  # N class indices, or None
    class_names: tuple[str, ...]
    source: str


def model_data(
    meta: dict[str, Any], channels: int, image_size: int, count: int = 2000
) -> DataSample | None:
    """Up to `count` images of the model's data set at its size; None when the data set
    is gone (a folder moved away) or no longer fits the model."""
    # "source" names what training read (a folder's full path); files trained before it
    # was recorded (the bundled digits VAE and GAN) name their data set as "dataset".
    source = meta.get("source") or meta.get("dataset")
    if not isinstance(source, str) or not source:
        return None
    try:
        data = open_dataset(source, image_size, DATA_SEED)
    except (BadInput, OSError, ValueError):
        return None
    if isinstance(data, ShapesSource):
        images, labels = data.batch(count)
        names: tuple[str, ...] = KINDS
    else:
        images, labels = data.images[:count], data.labels
        labels = labels[:count] if labels is not None else None
        names = tuple(str(i) for i in range(data.info.num_classes))
    if tuple(images.shape[1:]) != (channels, image_size, image_size):
        return None
    classes = meta.get("classes")
    if isinstance(classes, list) and all(isinstance(c, str) for c in classes):
        names = tuple(classes)
    return DataSample(images.float(), labels, names, source)
