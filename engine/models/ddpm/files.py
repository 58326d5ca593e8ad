"""DDPM model files: the U-Net's averaged weights and its noise schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadModelFile
from engine.api.kinds import Family
from engine.models.common.construction import building_models
from engine.models.common.modelfile import first_line, read_model_file, save_model_file
from engine.models.ddpm.net import DdpmConfig, UNet

RETRAIN_HINT = "python -m engine.train ddpm --preset digits"


def save_ddpm(path: Path, unet: UNet, config: DdpmConfig, meta: dict[str, Any]) -> None:
    save_model_file(path, unet.state_dict(), Family.DDPM, config.to_dict(), meta)


def load_ddpm(
    path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[UNet, DdpmConfig, dict[str, Any]]:
    path = Path(path)
    tensors, record = read_model_file(path, Family.DDPM, RETRAIN_HINT)
    try:
        config = DdpmConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadModelFile(
            f"The DDPM settings inside {path.name} are incomplete or invalid ({exc})."
        ) from exc
    try:
        with building_models:
            unet = UNet(config)
            unet.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise BadModelFile(
            f"{path.name} does not match the DDPM settings stored in it ({first_line(exc)}). "
            f"The file is damaged or was edited; train it again with `{RETRAIN_HINT}`."
        ) from exc
    unet.to(device=device, dtype=dtype).eval()
    return unet, config, dict(record.get("meta", {}))
