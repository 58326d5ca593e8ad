"""What the Explore page shows of a mixture: its components' means as images with their
weights, heaviest first, and which components explain a held-out image (its
responsibilities p(component | image))."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.models.common.images import to_rgb_uint8
from engine.models.gmm.files import LoadedGmm
from engine.models.gmm.pixels import as_images, level_centres, mean_pixels


@dataclass(frozen=True)
class Component:
    number: int  # its index in the model file (what a sample's `component` option names)
    weight: float
    mean_rgb: np.ndarray  # H x W x 3 uint8
    responsibility: float | None = None  # p(component | the image), when one is given


def components_of(loaded: LoadedGmm, image: torch.Tensor | None = None) -> list[Component]:
    """The components, heaviest first (ties by number); with `image` (1 x C x H x W in
    [0, 1]), each with its responsibility for that image at its levels' centres."""
    gmm, config = loaded.gmm, loaded.config
    means = to_rgb_uint8(as_images(mean_pixels(gmm.means, config.levels), config))
    weights = gmm.weights.double()
    weights = (weights / weights.sum()).tolist()  # the file's float32 sum is 1 within 1e-7
    shares: list[float | None] = [None] * gmm.components
    if image is not None:
        point = level_centres(image.reshape(1, -1), config.levels)
        shares = gmm.responsibilities(point)[0].tolist()
    order = sorted(range(gmm.components), key=lambda k: (-weights[k], k))
    return [Component(k, weights[k], means[k], shares[k]) for k in order]
