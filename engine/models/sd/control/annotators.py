"""The preprocessors that run an annotator network (depth, openpose, segmentation): the
unit's annotator file (found in the user's folders by engine.library.annotators and
named in the request, so the recipe says which file made the map) loaded once through
the model cache by its module in annotator_nets, then run on the fitted image.

Without a file the unit gets the sentence that names the file and where it goes.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.cache import CacheKey, FileIdentity
from engine.library.annotators import ANNOTATORS, missing_sentence
from engine.registry import RunnerEnv

NETS_PACKAGE = "engine.models.sd.control.annotator_nets"


def needs_annotator(preprocessor: str) -> bool:
    return preprocessor in ANNOTATORS


def annotated_map(
    name: str,
    rgb: np.ndarray,
    settings: Mapping[str, float],
    annotator: ModelRef | None,
    env: RunnerEnv | None = None,
) -> np.ndarray:
    """The map of `rgb` by the annotator preprocessor `name` (H x W x 3 uint8). `env`
    gives the device and the cache; without one (a test, a tool) the network is loaded
    on the CPU for this call only."""
    if annotator is None:
        raise BadInput(missing_sentence(name))
    path = Path(model_path(annotator))
    if not path.exists():
        raise BadInput(
            f"The {name} annotator {path} is not there any more; put it back, or choose "
            "another preprocessor."
        )
    module = importlib.import_module(f"{NETS_PACKAGE}.{ANNOTATORS[name].module}")
    net = _network(module, name, path, env)
    with torch.inference_mode():
        # A copy: the fitted picture is read-only, and a module may hand it to torch.
        pixels = module.run(net, np.array(rgb, dtype=np.uint8, order="C"), settings)
    return np.ascontiguousarray(pixels, dtype=np.uint8)


def _network(module: Any, name: str, path: Path, env: RunnerEnv | None) -> Any:
    if env is None:
        return module.load(path, torch.device("cpu"))
    device = env.device.device
    key = CacheKey(Family.SD, FileIdentity.of(path), device, "float32", part=f"annotator-{name}")
    return env.cache.get(key, lambda: module.load(path, torch.device(device)))
