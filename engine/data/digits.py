"""The UCI handwritten digits (1797 images, 8x8), bundled as a tiny npz.

The npz is produced once from scikit-learn's copy of the data set by
`python -m engine.data.digits` and committed, so the app and its training scripts need
only numpy at run time; scikit-learn stays a dev-only dependency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.hashing import file_sha256
from engine.resources import DATASETS_DIR

DIGITS_PATH = DATASETS_DIR / "digits.npz"
SOURCE_MAX = 16  # sklearn stores ink as integers 0..16


def convert_from_sklearn(out: Path = DIGITS_PATH) -> Path:
    """Write images (uint8 N x 8 x 8, 0..255) and labels (uint8) to `out`.

    The bytes are reproducible: keys are written in a fixed order and numpy's zip
    entries carry a fixed timestamp, so rerunning gives the same sha256 fingerprint.
    """
    from sklearn.datasets import load_digits as sklearn_digits  # dev-only, ships the data

    bunch = sklearn_digits()
    images = np.rint(bunch.images * (255.0 / SOURCE_MAX)).astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A file object keeps numpy from appending ".npz" to a path we chose ourselves.
    with open(out, "wb") as fh:
        np.savez_compressed(fh, images=images, labels=labels)
    return out


def load_digits(path: Path = DIGITS_PATH) -> tuple[np.ndarray, np.ndarray]:
    """Return (images float32 N x 1 x 8 x 8 in [0, 1], labels uint8 N)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"The digits data set {path} is missing; recreate it with "
            "`python -m engine.data.digits` (needs scikit-learn)."
        )
    with np.load(path, allow_pickle=False) as data:
        images = data["images"].astype(np.float32) / 255.0
        labels = data["labels"].astype(np.uint8)
    return images[:, None, :, :], labels


def dataset_fingerprint(path: Path = DIGITS_PATH) -> str:
    """sha256 of the file's bytes: what a model's JSON records as its training data."""
    return file_sha256(Path(path))


if __name__ == "__main__":
    written = convert_from_sklearn()
    images, labels = load_digits(written)
    print(f"wrote {written} ({images.shape[0]} images, sha256 {dataset_fingerprint(written)})")
