"""The meters' own networks: a digit classifier and a shapes reader.

Both are small, trained by `python -m engine.quality.train` with a fixed seed, and
committed to resources/models. The digit classifier learns from one half of the digits;
a fifth more calibrates its confidence (temperature scaling, Guo et al. 2017); the rest
is never seen, and measures how often real unseen digits pass — the scale every
"recognisable" figure is read against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

from engine.atomic import write_bytes_atomic
from engine.resources import BUNDLED_MODELS_DIR

DIGITS_METER = BUNDLED_MODELS_DIR / "meter-digits.safetensors"
SHAPES_METER = BUNDLED_MODELS_DIR / "meter-shapes.safetensors"
RECORD_KEY = "latentstudio"


def digit_classifier() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.SiLU(), nn.Linear(128, 10))


class ShapesReader(nn.Module):
    """32 x 32 RGB -> (kind logits 4, then x, y, scale, cos hue, sin hue)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1), nn.SiLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, 1, 1), nn.SiLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, 1, 1), nn.SiLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 16, 128), nn.SiLU(),
        )  # fmt: skip
        self.kind = nn.Linear(128, 4)
        self.factors = nn.Linear(128, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.kind(h), self.factors(h)


@dataclass(frozen=True)
class Meter:
    net: nn.Module
    temperature: float
    record: dict


def save_meter(path: Path, net: nn.Module, record: dict) -> None:
    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    header = {RECORD_KEY: json.dumps(record, sort_keys=True)}
    write_bytes_atomic(path, safetensors_bytes(tensors, metadata=header))
    write_bytes_atomic(
        path.with_suffix(".json"), (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    )


def load_meter(path: Path, net: nn.Module) -> Meter:
    with safe_open(str(path), framework="pt") as fh:
        record = json.loads(fh.metadata()[RECORD_KEY])
        net.load_state_dict({k: fh.get_tensor(k) for k in fh.keys()})  # noqa: SIM118
    net.eval()
    return Meter(net, float(record.get("temperature", 1.0)), record)
