"""The digit splits every meter figure uses: train half, calibration fifth, held-out rest."""

from __future__ import annotations

import numpy as np
import torch

from engine.data.digits import load_digits

SPLIT_SEED = 0


def digit_splits() -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """(images N x 1 x 8 x 8 in [0, 1], labels, {"train", "calibrate", "held_out"} indices)."""
    images, labels = load_digits()
    x, y = torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n = len(x)
    return (
        x,
        y,
        {
            "train": order[: n // 2],
            "calibrate": order[n // 2 : n // 2 + n // 5],
            "held_out": order[n // 2 + n // 5 :],
        },
    )
