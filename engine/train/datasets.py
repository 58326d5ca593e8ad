"""Training data, by name or folder: digits, shapes, emoji, or a folder of the user's images.

Every source gives batches of images as float tensors N x C x H x W in [0, 1] (and labels
where the data has classes), reproducibly from a seed, and a fingerprint that model
records keep to say what they were trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.api.errors import BadInput
from engine.data.digits import DIGITS_PATH, load_digits
from engine.data.emoji import EMOJI_PATH, load_emoji
from engine.data.shapes import KINDS, ShapesData
from engine.hashing import file_sha256

BUNDLED = ("digits", "shapes", "emoji")
SHAPES_VERSION = "shapes-v1"  # the renderer's version stands for the data's fingerprint


@dataclass(frozen=True)
class DataInfo:
    name: str
    channels: int
    size: int
    num_classes: int  # 0: no labels
    class_names: tuple[str, ...]
    fingerprint: str
    count: int | None  # None: infinite (procedural)
    note: str = ""  # what happened while reading (a folder's skipped files…)


class EpochOrder:
    """A seeded order of `count` items, a fresh one every epoch, and the place reached in it.

    A training state saves it like a torch.Generator (get_state/set_state). The generator
    alone is not enough: it has already moved past the order of the epoch under way, so a
    training resumed mid-epoch would draw a new order and see other batches than a run
    never stopped. The state is the generator as it was before this epoch's draw, then the
    place reached and the epoch's length (int64s), so resuming redraws the same order.
    """

    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self._rng = torch.Generator().manual_seed(seed)
        self._epoch_start = self._rng.get_state()
        self._order = torch.empty(0, dtype=torch.long)
        self._position = 0

    def take(self, size: int) -> torch.Tensor:
        if self._position + size > len(self._order):
            self._epoch_start = self._rng.get_state()
            self._order = torch.randperm(self.count, generator=self._rng)
            self._position = 0
        index = self._order[self._position : self._position + size]
        self._position += size
        return index

    def get_state(self) -> torch.Tensor:
        place = torch.tensor([self._position, len(self._order)], dtype=torch.int64)
        return torch.cat([self._epoch_start, place.view(torch.uint8)])

    def set_state(self, state: torch.Tensor) -> None:
        """Restore the place reached. The state of an older version (a bare generator) or
        of a set that has since grown or shrunk (a folder) begins a new epoch instead."""
        bare = len(state) == len(self._epoch_start)
        position, drawn = (0, 0) if bare else state[-16:].clone().view(torch.int64).tolist()
        self._epoch_start = (state if bare else state[:-16]).clone()
        self._rng.set_state(self._epoch_start.clone())
        self._order, self._position = torch.empty(0, dtype=torch.long), 0
        if drawn == self.count and 0 <= position <= drawn:
            # Redraw the epoch under way: the generator ends where it was saved from.
            self._order = torch.randperm(self.count, generator=self._rng)
            self._position = position


class ArrayData:
    """A finite set, served in a fresh seeded order every epoch."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray | None, info: DataInfo, seed: int
    ) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images))
        self.labels = (
            torch.from_numpy(labels.astype(np.int64))
            if labels is not None and len(labels)
            else None
        )
        self.info = info
        self.generator = EpochOrder(len(self.images), seed)  # what a training state saves

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = self.generator.take(size)
        return self.images[index], None if self.labels is None else self.labels[index]

    def sample_for_metrics(self, count: int) -> torch.Tensor:
        return self.images[:count]


class NumpyGeneratorState:
    """A numpy Generator saved like a torch.Generator: its bit generator's state (a dict
    of integers, some 128-bit) as the bytes of its JSON."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def get_state(self) -> torch.Tensor:
        encoded = json.dumps(self.rng.bit_generator.state).encode()
        return torch.frombuffer(bytearray(encoded), dtype=torch.uint8).clone()

    def set_state(self, state: torch.Tensor) -> None:
        self.rng.bit_generator.state = json.loads(bytes(state.tolist()).decode())


class ShapesSource:
    """Shapes drawn afresh for every batch; the label is the kind."""

    def __init__(self, size: int, seed: int) -> None:
        self.shapes = ShapesData(seed, size)
        self.info = DataInfo("shapes", 3, size, len(KINDS), KINDS, SHAPES_VERSION, None)
        # What a training state saves, so a resumed run draws the shapes a run never
        # stopped would have drawn.
        self.generator = NumpyGeneratorState(self.shapes.rng)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, factors = self.shapes.batch(size)
        return torch.from_numpy(images.transpose(0, 3, 1, 2).copy()), torch.from_numpy(
            factors.kind.astype(np.int64)
        )

    def sample_for_metrics(self, count: int) -> torch.Tensor:
        return ShapesSource(self.info.size, 12345).batch(count)[0]


def open_dataset(name: str, size: int = 0, seed: int = 0) -> ArrayData | ShapesSource:
    """A bundled set by name, or a folder path; `size` 0 means the set's own size."""
    if name == "digits":
        images, labels = load_digits(DIGITS_PATH)
        _refuse_size(name, size, 8)
        info = DataInfo(
            "digits",
            1,
            8,
            10,
            tuple(str(d) for d in range(10)),
            file_sha256(DIGITS_PATH),
            len(images),
        )
        return ArrayData(images, labels, info, seed)
    if name == "shapes":
        return ShapesSource(size or 32, seed)
    if name == "emoji":
        images, _ = load_emoji(EMOJI_PATH)
        images = _resized(images, size or 32)
        info = DataInfo("emoji", 3, size or 32, 0, (), file_sha256(EMOJI_PATH), len(images))
        return ArrayData(images, None, info, seed)
    if not name.strip():  # Path("") is the working folder: never train on it by accident
        raise BadInput(f"Choose a data set: {', '.join(BUNDLED)}, or a folder of images.")
    return _folder(Path(name), size or 32, seed)


def _folder(folder: Path, size: int, seed: int) -> ArrayData:
    from engine.data.folder import check_data_folder, load_folder

    check_data_folder(folder)
    images, report, fingerprint = load_folder(folder, size)
    info = DataInfo(folder.name, 3, size, 0, (), fingerprint, len(images), report.summary())
    return ArrayData(images, None, info, seed)


def _refuse_size(name: str, size: int, own: int) -> None:
    if size not in (0, own):
        raise BadInput(
            f"The {name} data set is {own}×{own} pixels; it cannot be trained at {size}."
        )


def _resized(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[-1] == size:
        return images
    tensor = F.interpolate(
        torch.from_numpy(images),
        size=(size, size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return tensor.clamp(0, 1).numpy()
