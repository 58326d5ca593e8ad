"""A request's control units made into a Guide: each unit's model loaded by the
control-file loader (engine.models.sd.control.files: folders and single files, refused
with a sentence when of another family or damaged) through the model cache, on the
job's device and dtype, and checked against the base pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.requests import Txt2ImgRequest
from engine.cache import CacheKey, FileIdentity
from engine.device import dtype_name
from engine.library.detect import SdFamily
from engine.models.sd.control.files import load_control_model
from engine.models.sd.control.guided import Guide, LoadedControl
from engine.registry import RunnerEnv


def make_guide(
    pipe: Any, request: Txt2ImgRequest, env: RunnerEnv, task: str, family: SdFamily
) -> Guide | None:
    """The job's Guide, checked for `task`; None without control units. `family` is
    the checkpoint's."""
    if not request.control:
        return None
    dtype = pipe.unet.dtype
    models = [
        _cached(env, Path(model_path(unit.model)), family, dtype, pipe.unet.config)
        for unit in request.control
    ]
    guide = Guide(tuple(request.control), models, env=env)
    guide.check(pipe, task)
    return guide


def _cached(
    env: RunnerEnv, path: Path, family: SdFamily, dtype: Any, unet_config: Any
) -> LoadedControl:
    if not path.exists():
        raise BadInput(
            f"The control model {path} is not there any more; choose the unit's model again."
        )
    device = env.device.device
    key = CacheKey(
        Family.SD, FileIdentity.of(path), device, dtype_name(dtype), part=f"control-{family.value}"
    )

    def load() -> LoadedControl:
        # The UNet's config: a single-file SDXL ControlNet's size-embedding width.
        loaded = load_control_model(path, family, device, dtype, unet_config)
        return LoadedControl(loaded.kind, loaded.model)

    return env.cache.get(key, load)
