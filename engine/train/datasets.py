"""The bundled data sets a model can be trained on, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.api.errors import BadInput
from engine.data.digits import DIGITS_PATH, load_digits
from engine.hashing import file_sha256


@dataclass(frozen=True)
class Dataset:
    """A bundled data set: how to load it, and the file whose hash names it in records."""

    name: str
    load: Callable[[Path], tuple[np.ndarray, np.ndarray]]  # images N x C x H x W in [0, 1]
    path: Path

    def fingerprint(self) -> str:
        return file_sha256(self.path)


DATASETS: dict[str, Dataset] = {"digits": Dataset("digits", load_digits, DIGITS_PATH)}


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise BadInput(f"There is no bundled data set called {name!r}; choose {known}.") from None
