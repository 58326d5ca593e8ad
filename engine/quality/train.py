"""Train the meters' networks and commit them: `python -m engine.quality.train`.

Deterministic (fixed seeds, deterministic kernels, two threads): the same bytes on the
same kind of machine.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812 - the conventional torch alias

from engine.data.shapes import ShapesData
from engine.quality.meters import (
    DIGITS_METER,
    SHAPES_METER,
    ShapesReader,
    digit_classifier,
    save_meter,
)
from engine.quality.splits import digit_splits
from engine.train.determinism import deterministic_cpu


def train_digit_classifier() -> dict:
    x, y, split = digit_splits()
    train, calibrate, held_out = split["train"], split["calibrate"], split["held_out"]
    net = digit_classifier()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    order = torch.Generator().manual_seed(1)
    for _epoch in range(100):
        shuffled = train[torch.randperm(len(train), generator=order)]
        for start in range(0, len(shuffled), 64):
            batch = shuffled[start : start + 64]
            loss = F.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        logits = net(x[calibrate])
    log_t = torch.zeros((), requires_grad=True)
    lbfgs = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def nll() -> torch.Tensor:
        lbfgs.zero_grad()
        value = F.cross_entropy(logits / log_t.exp(), y[calibrate])
        value.backward()
        return value

    lbfgs.step(nll)
    temperature = float(log_t.detach().exp())
    with torch.no_grad():
        p = (net(x[held_out]) / temperature).softmax(1)
    confidence, predicted = p.max(1)
    passed = ((confidence >= 0.9) & (predicted == y[held_out])).float().mean().item()
    accuracy = (predicted == y[held_out]).float().mean().item()
    record = {
        "temperature": temperature,
        "held_out_accuracy": accuracy,
        "held_out_recognisable": passed,
    }
    save_meter(DIGITS_METER, net, record)
    return record


def train_shapes_reader(steps: int = 3000) -> dict:
    data = ShapesData(seed=7)
    net = ShapesReader()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    for _step in range(steps):
        images, factors = data.batch(64)
        x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
        kind_logits, predicted = net(x)
        target = torch.from_numpy(_factor_targets(factors)).float()
        loss = F.cross_entropy(
            kind_logits, torch.from_numpy(factors.kind.astype(np.int64))
        ) + F.mse_loss(predicted, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    images, factors = ShapesData(seed=99).batch(1000)
    with torch.no_grad():
        kind_logits, predicted = net(torch.from_numpy(images.transpose(0, 3, 1, 2).copy()))
    p = kind_logits.softmax(1)
    confidence, kind = p.max(1)
    truth = torch.from_numpy(factors.kind.astype(np.int64))
    record = {
        "held_out_kind_accuracy": (kind == truth).float().mean().item(),
        "held_out_recognisable": ((confidence >= 0.9) & (kind == truth)).float().mean().item(),
        "held_out_factor_mse": F.mse_loss(
            predicted, torch.from_numpy(_factor_targets(factors)).float()
        ).item(),
    }
    save_meter(SHAPES_METER, net, record)
    return record


def _factor_targets(factors) -> np.ndarray:
    angle = 2 * np.pi * factors.hue
    return np.stack([factors.x, factors.y, factors.scale, np.cos(angle), np.sin(angle)], 1)


def main() -> None:
    with deterministic_cpu(0):
        print("digits:", train_digit_classifier(), flush=True)
        print("shapes:", train_shapes_reader(), flush=True)


if __name__ == "__main__":
    main()
