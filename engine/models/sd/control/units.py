"""A request's control units made into a Guide: each unit's model loaded through the
model cache (on the job's device and dtype), checked against the base pipeline.

The control-file loader is engine.models.sd.control.files.load_control_model (any
ControlNet/T2I-Adapter file or folder); until it is in this tree, diffusers folders
(config.json with ControlNetModel or T2IAdapter) are read here.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from engine.api.catalogue import model_path
from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.requests import Txt2ImgRequest
from engine.cache import CacheKey, FileIdentity
from engine.device import dtype_name
from engine.models.sd.control.guided import ADAPTER, CONTROLNET, Guide, LoadedControl
from engine.registry import RunnerEnv


def make_guide(pipe: Any, request: Txt2ImgRequest, env: RunnerEnv, task: str) -> Guide | None:
    """The job's Guide, checked for `task`; None without control units."""
    if not request.control:
        return None
    dtype = pipe.unet.dtype
    family = "sdxl" if "text_encoder_2" in pipe.components else "sd"
    models = [_cached(env, Path(model_path(unit.model)), family, dtype) for unit in request.control]
    guide = Guide(tuple(request.control), models)
    guide.check(pipe, task)
    return guide


def _cached(env: RunnerEnv, path: Path, family: str, dtype: Any) -> LoadedControl:
    if not path.exists():
        raise BadInput(
            f"The control model {path} is not there any more; choose the unit's model again."
        )
    device = env.device.device
    key = CacheKey(Family.SD, FileIdentity.of(path), device, dtype_name(dtype), part="control")
    return env.cache.get(key, lambda: _load(path, family, device, dtype))


def _load(path: Path, family: str, device: str, dtype: Any) -> LoadedControl:
    try:
        files = importlib.import_module("engine.models.sd.control.files")
    except ModuleNotFoundError:
        return _load_folder(path, device, dtype)
    loaded = files.load_control_model(path, family, device, dtype)
    return LoadedControl(loaded.kind, loaded.model)


def _load_folder(path: Path, device: str, dtype: Any) -> LoadedControl:
    import diffusers

    config = path / "config.json"
    try:
        name = json.loads(config.read_text(encoding="utf-8"))["_class_name"]
    except (OSError, ValueError, KeyError):
        raise BadModelFile(
            f"{path} is not a ControlNet or T2I-Adapter folder this version reads (a "
            "diffusers folder with config.json)."
        ) from None
    kind = {"ControlNetModel": CONTROLNET, "T2IAdapter": ADAPTER}.get(name)
    if kind is None:
        raise BadModelFile(f"{path} holds a {name}, not a ControlNet or T2I-Adapter.")
    model = getattr(diffusers, name).from_pretrained(str(path), torch_dtype=dtype)
    return LoadedControl(kind, model.to(device).eval())
