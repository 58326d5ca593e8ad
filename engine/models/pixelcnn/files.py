"""PixelCNN model files: the network's weights and its settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.common.modelfile import read_model_file, save_model_file
from engine.models.pixelcnn.net import PixelCnn
from engine.models.pixelcnn.pixels import PixelcnnConfig

RETRAIN_HINT = "python -m engine.train pixelcnn --preset digits"
PREFIX = "net."


@dataclass(frozen=True)
class LoadedPixelcnn:
    net: PixelCnn
    config: PixelcnnConfig
    meta: dict[str, Any]


def save_pixelcnn(path: Path, net: PixelCnn, config: PixelcnnConfig, meta: dict[str, Any]) -> None:
    tensors = {PREFIX + key: value for key, value in net.state_dict().items()}
    save_model_file(path, tensors, Family("pixelcnn"), config.to_dict(), meta)


def load_pixelcnn(
    path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> LoadedPixelcnn:
    """A PixelCNN saved by save_pixelcnn (on the CPU: drawing pixels one by one is many
    tiny passes, which an accelerator's launch costs would dominate); any problem with
    the file is BadModelFile."""
    path = Path(path)
    tensors, record = read_model_file(path, Family("pixelcnn"), RETRAIN_HINT)
    try:
        config = PixelcnnConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError, BadInput) as exc:
        raise BadModelFile(
            f"The PixelCNN settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc
    net = PixelCnn(config)
    weights = {k[len(PREFIX) :]: v for k, v in tensors.items() if k.startswith(PREFIX)}
    try:
        net.load_state_dict(weights)
    except RuntimeError as exc:  # missing, unexpected or misshapen tensors
        raise BadModelFile(
            f"{path.name} does not hold the PixelCNN its settings describe ({config.layers} "
            f"layers of {config.width} features). The file is damaged or was edited; train "
            f"it again with `{RETRAIN_HINT}`."
        ) from exc
    if not all(bool(torch.isfinite(t).all()) for t in weights.values()):
        raise BadModelFile(
            f"{path.name} holds weights that are not numbers (NaN or infinite). The file is "
            f"damaged or its training diverged; train it again with `{RETRAIN_HINT}`."
        )
    return LoadedPixelcnn(net.eval(), config, dict(record.get("meta", {})))
