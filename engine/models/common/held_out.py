"""A held-out image of the data set a model was trained on, by number: what the Explore
tools that look at one image ask for (a GMM's components, an autoregressive model's
completions and surprise). Read once per data set: the pages ask on every spin."""

from __future__ import annotations

from typing import Any

import torch

from engine.api.errors import BadInput
from engine.models.common.model_data import model_data


class HeldOutImages:
    """The held-out part of a bundled data set; a folder's own images otherwise."""

    def __init__(self) -> None:
        self._images: dict[str, torch.Tensor | None] = {}

    def of(self, meta: dict[str, Any], channels: int, size: int) -> torch.Tensor | None:
        from engine.quality.score import held_out_images

        source = str(meta.get("source") or meta.get("dataset") or "")
        if source not in self._images:
            images = held_out_images(source)
            if images is None:
                data = model_data(meta, channels, size, count=256)
                images = data.images if data is not None else None
            self._images = {source: images}  # one data set at a time: the one shown
        return self._images[source]

    def pick(
        self, meta: dict[str, Any], channels: int, size: int, index: int, name: str, without: str
    ) -> torch.Tensor:
        """Image `index` (modulo their number) as 1 x C x H x W; BadInput when there are
        none, or they are not the model's size. `without` ends the sentence: what is
        shown instead ("The components are shown without one.")."""
        images = self.of(meta, channels, size)
        shape = (channels, size, size)
        if images is None or len(images) == 0:
            raise BadInput(
                f"The images {name} was trained on are not here, so there is no held-out "
                f"image to look at. {without}"
            )
        if tuple(images.shape[1:]) != shape:
            raise BadInput(
                f"The held-out images are {tuple(images.shape[1:])}, but {name} models "
                f"{shape} images; there is no held-out image of its size to look at."
            )
        return images[index % len(images)][None].float()

    def clear(self) -> None:
        self._images.clear()
