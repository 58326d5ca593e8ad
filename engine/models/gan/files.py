"""GAN model files: the generator (its averaged weights) and the discriminator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadModelFile
from engine.api.kinds import Family
from engine.models.common.construction import building_models
from engine.models.common.modelfile import first_line, read_model_file, save_model_file
from engine.models.gan.net import Discriminator, GanConfig, Generator

RETRAIN_HINT = "python -m engine.train gan --preset digits"


def save_gan(
    path: Path,
    generator: Generator,
    discriminator: Discriminator,
    config: GanConfig,
    meta: dict[str, Any],
) -> None:
    tensors = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    tensors.update({f"discriminator.{k}": v for k, v in discriminator.state_dict().items()})
    save_model_file(path, tensors, Family.GAN, config.to_dict(), meta)


def load_gan(
    path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[Generator, GanConfig, dict[str, Any]]:
    path = Path(path)
    tensors, record = read_model_file(path, Family.GAN, RETRAIN_HINT)
    try:
        config = GanConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadModelFile(
            f"The GAN settings inside {path.name} are incomplete or invalid ({exc})."
        ) from exc
    weights = {
        k.removeprefix("generator."): v for k, v in tensors.items() if k.startswith("generator.")
    }
    try:
        with building_models:
            generator = Generator(config)
            generator.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise BadModelFile(
            f"{path.name} does not match the GAN settings stored in it ({first_line(exc)}). "
            f"The file is damaged or was edited; train it again with `{RETRAIN_HINT}`."
        ) from exc
    generator.to(device=device, dtype=dtype).eval()
    return generator, config, dict(record.get("meta", {}))
