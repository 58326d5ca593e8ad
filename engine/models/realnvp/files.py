"""RealNVP model files: the coupling networks' weights, and the flow's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.common.modelfile import read_model_file, save_model_file
from engine.models.realnvp.flow import RealNvp
from engine.models.realnvp.pixels import RealnvpConfig

RETRAIN_HINT = "python -m engine.train realnvp --preset digits"
PREFIX = "flow."


def save_realnvp(path: Path, flow: RealNvp, config: RealnvpConfig, meta: dict[str, Any]) -> None:
    tensors = {PREFIX + k: v.detach().float() for k, v in flow.state_dict().items()}
    save_model_file(path, tensors, Family("realnvp"), config.to_dict(), meta)


def load_realnvp(path: Path, device: str = "cpu", dtype: torch.dtype = torch.float32):
    """A flow saved by save_realnvp, in eval mode on the CPU (the bundled flows are small,
    and the CPU's results are the ones reproduced); any problem with the file is
    BadModelFile."""
    from engine.models.realnvp.latent import LoadedRealnvp

    path = Path(path)
    tensors, record = read_model_file(path, Family("realnvp"), RETRAIN_HINT)
    try:
        config = RealnvpConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError, BadInput) as exc:
        raise BadModelFile(
            f"The RealNVP settings inside {path.name} are incomplete or invalid ({exc}). "
            f"The file is damaged or from a newer version; train it again with `{RETRAIN_HINT}`."
        ) from exc
    flow = RealNvp(config)
    weights = {k.removeprefix(PREFIX): v for k, v in tensors.items() if k.startswith(PREFIX)}
    try:
        flow.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise BadModelFile(
            f"{path.name} does not hold the flow its settings describe ({config.scales} "
            f"scales of width {config.width} over {config.dims} values). The file is damaged "
            f"or was edited; train it again with `{RETRAIN_HINT}`."
        ) from exc
    if not all(bool(torch.isfinite(t).all()) for t in weights.values()):
        raise BadModelFile(
            f"{path.name} holds weights that are not numbers (NaN or infinite). The file "
            f"is damaged or its training diverged; train it again with `{RETRAIN_HINT}`."
        )
    return LoadedRealnvp(flow.eval(), config, dict(record.get("meta", {})))
