"""A VAE file used instead of a model's own, for one job.

Model sites ship VAEs as single files in the original (LDM) layout, or in diffusers'
layout; both are read here. The VAE's architecture is the model's (the model's own
vae/config.json, in its folder or in its generated config folder); a file that does not
fit it (another latent width: an SD3 or FLUX VAE) is refused with a sentence. The
model's VAE is put back after the job, so the cached pipeline never keeps a VAE the
next job did not ask for. The last VAE read stays loaded for the next job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL
from safetensors.torch import load_file

from engine.api.errors import BadInput, BadModelFile, is_out_of_memory
from engine.cache import FileIdentity
from engine.library.detect import ModelKind, detect
from engine.library.header import read_header
from engine.models.common.construction import building_models
from engine.models.sd.tiny_vae import decoding_with

DIFFUSERS_LAYOUT = "encoder.down_blocks.0.resnets.0.conv1.weight"


class VaeSlot:
    """The override VAE of one runner: loaded once per file, swapped in per job."""

    def __init__(self) -> None:
        self._identity: FileIdentity | None = None
        self._vae: Any = None

    @contextlib.contextmanager
    def applied(self, pipe: Any, path: str, config_dir: Path, dtype: torch.dtype) -> Iterator[None]:
        if not path:
            yield
            return
        with decoding_with(pipe, self._load(Path(path), pipe, config_dir, dtype)):
            yield

    def _load(self, path: Path, pipe: Any, config_dir: Path, dtype: torch.dtype) -> Any:
        identity = FileIdentity.of(path)
        if identity == self._identity and self._vae is not None:
            return self._vae
        header = read_header(path)
        if detect(header).kind is not ModelKind.VAE:
            raise BadInput(f"{path.name} is not a VAE file.")
        try:
            with building_models:
                if DIFFUSERS_LAYOUT in header:
                    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(config_dir / "vae"))
                    vae.load_state_dict(load_file(str(path)), strict=True)
                else:
                    vae = AutoencoderKL.from_single_file(
                        str(path), config=str(config_dir), subfolder="vae", local_files_only=True
                    )
        except (RuntimeError, ValueError, KeyError) as exc:
            if is_out_of_memory(exc):
                raise
            raise BadInput(
                f"{path.name} does not fit this model's VAE ({type(exc).__name__}). It is a VAE "
                "for another kind of model; choose one made for this model's family."
            ) from exc
        except OSError as exc:
            raise BadModelFile(f"{path.name} cannot be read ({exc}).") from exc
        vae = vae.to(device=pipe.vae.device, dtype=dtype)
        vae.eval()
        self._identity, self._vae = identity, vae
        return vae
