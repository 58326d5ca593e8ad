"""Loading our own model files through the shared cache, and what every image records.

The classic families (VAE, GAN, DDPM) load the same way: a bundled name or a path, checked
before it is opened, one copy per file version, device and dtype in the model cache, and
the file's hash (from the background hasher) in each image's recipe.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from engine.api.catalogue import model_path
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.cache import CacheKey, FileIdentity
from engine.context import JobContext
from engine.device import dtype_name, inference_dtype
from engine.models.common.modelfile import check_model_path
from engine.registry import RunnerEnv

T = TypeVar("T")


class CachedModels:
    def __init__(
        self,
        env: RunnerEnv,
        family: Family,
        retrain_hint: str,
        load: Callable[[Path, str, torch.dtype], T],
    ) -> None:
        self.env, self.family, self.hint, self._load = env, family, retrain_hint, load
        self.dtype = inference_dtype(env.device, family)

    def load(self, ref: ModelRef, ctx: JobContext) -> tuple[Any, Path]:
        path = model_path(ref)
        check_model_path(path, self.family, self.hint)
        key = CacheKey(
            self.family, FileIdentity.of(path), self.env.device.device, dtype_name(self.dtype)
        )
        ctx.phase = "loading the model"
        loaded = self.env.cache.get(
            key, lambda: self._load(path, self.env.device.device, self.dtype)
        )
        return loaded, path

    def info(self, ref: ModelRef, path: Path, ctx: JobContext) -> dict[str, Any]:
        model_hash = self.env.hashes.wait(
            self.env.hashes.request(path), lambda: ctx.control.cancelled
        )
        return {
            "model": ref.id,
            "model_path": str(path),
            "model_sha256": model_hash.sha256,
            "model_hash_kind": model_hash.kind,
            "family": self.family.value,
            "device": self.env.device.device,
            "dtype": dtype_name(self.dtype),
            "torch": torch.__version__,
        }
