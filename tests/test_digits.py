"""The bundled digits data set: its shape, and that the committed file can be rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data.digits import DIGITS_PATH, convert_from_sklearn, dataset_fingerprint, load_digits


def test_committed_digits_load_as_unit_range_images_with_labels():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.shape == (1797,) and set(np.unique(labels)) == set(range(10))


def test_conversion_reproduces_the_committed_file_byte_for_byte(tmp_path: Path):
    pytest.importorskip("sklearn")  # dev-only dependency
    rebuilt = convert_from_sklearn(tmp_path / "digits.npz")
    assert dataset_fingerprint(rebuilt) == dataset_fingerprint(DIGITS_PATH)


def test_missing_data_set_says_how_to_rebuild_it(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="python -m engine.data.digits"):
        load_digits(tmp_path / "absent.npz")
