"""VAE model files: the network's weights and settings (and its learned prior, if any)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadModelFile
from engine.api.kinds import Family
from engine.models.common.construction import building_models
from engine.models.common.gmm import Gmm
from engine.models.common.modelfile import first_line, read_model_file, save_model_file
from engine.models.vae.net import Vae, VaeConfig

RETRAIN_HINT = "python -m engine.train vae --preset digits"


def save_vae(
    path: Path, model: Vae, config: VaeConfig, meta: dict[str, Any], prior: Gmm | None = None
) -> None:
    tensors = dict(model.state_dict())
    if prior is not None:
        tensors.update(prior.tensors())
    save_model_file(path, tensors, Family.VAE, config.to_dict(), meta)


def load_vae(
    path: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[Vae, VaeConfig, dict[str, Any]]:
    """Load a VAE saved by save_vae; any problem with the file becomes BadModelFile."""
    model, config, meta, _prior = load_vae_with_prior(path, device, dtype)
    return model, config, meta


def load_vae_with_prior(
    path: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[Vae, VaeConfig, dict[str, Any], Gmm | None]:
    path = Path(path)
    tensors, record = read_model_file(path, Family.VAE, RETRAIN_HINT)
    try:
        config = VaeConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadModelFile(
            f"The VAE settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc
    prior = Gmm.from_tensors(tensors)
    weights = {k: v for k, v in tensors.items() if not k.startswith("prior.")}
    try:
        with building_models:  # see engine.models.common.construction
            model = Vae(config)
            model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise BadModelFile(
            f"{path.name} does not match the VAE settings stored in it ({first_line(exc)}). "
            f"The file is damaged or was edited; train it again with `{RETRAIN_HINT}`."
        ) from exc
    model.to(device=device, dtype=dtype).eval()
    return model, config, dict(record.get("meta", {})), prior
