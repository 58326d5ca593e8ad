"""The only place that chooses devices and dtypes, per use.

- `choose_device(preference)`: where the engine computes (CUDA, then MPS, then CPU);
- `inference_dtype(device, family)`: half precision only where it is fast and safe for
  that architecture (Stable Diffusion's UNet and VAE on CUDA/MPS); the small classic
  models gain nothing from it and stay fp32;
- `training_precision(device)`: fp32 on the CPU, bf16 autocast on GPUs that have it.

Determinism settings (single thread, deterministic kernels) are not a device policy:
they live in the reproduction scripts (engine.train), never process-wide in the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from engine.api.events import DeviceInfo
from engine.api.kinds import Family

if TYPE_CHECKING:
    from engine.cpu_path import NumericPath

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
HALF_PRECISION_FAMILIES = frozenset({Family.SD, Family.UPSCALE})
_SHORT = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32"}


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # torch device string
    name: str = ""  # e.g. the GPU's marketing name
    requested: str = "auto"  # what the user asked for (a CUDA request on a CPU-only machine)

    @property
    def is_gpu(self) -> bool:
        return self.device in ("cuda", "mps")

    def info(self, numerics: NumericPath | None = None) -> DeviceInfo:
        """For the status bar: the device and the numeric path Stable Diffusion runs in."""
        dtype = inference_dtype(self, Family.SD) if numerics is None else numerics.dtype
        label = _SHORT[dtype] if numerics is None else numerics.label
        parts = [self.device.upper()] + ([self.name] if self.name else []) + [label]
        detail = numerics.reason if numerics is not None else ""
        return DeviceInfo(self.device, dtype_name(dtype), " · ".join(parts), detail)


def choose_device(preference: str = "auto") -> DeviceChoice:
    """auto picks cuda, then mps, then cpu; an unavailable choice falls back to the CPU."""
    preference = (preference or "auto").lower()
    if preference not in DEVICE_CHOICES:
        preference = "auto"
    if preference in ("auto", "cuda") and torch.cuda.is_available():
        return DeviceChoice("cuda", torch.cuda.get_device_name(0), preference)
    if preference in ("auto", "mps") and torch.backends.mps.is_available():
        return DeviceChoice("mps", "Apple GPU", preference)
    return DeviceChoice("cpu", "", preference)


def inference_dtype(device: DeviceChoice, family: Family) -> torch.dtype:
    if device.is_gpu and family in HALF_PRECISION_FAMILIES:
        return torch.float16
    return torch.float32


@dataclass(frozen=True)
class TrainingPrecision:
    weights: torch.dtype  # what parameters and optimizer state are kept in
    autocast: torch.dtype | None  # what the forward pass computes in, if not `weights`


def training_precision(device: DeviceChoice) -> TrainingPrecision:
    if device.device == "cuda" and torch.cuda.is_bf16_supported():
        return TrainingPrecision(torch.float32, torch.bfloat16)
    return TrainingPrecision(torch.float32, None)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def release_cached_memory(device: str) -> None:
    """Hand memory the allocator keeps cached back to the device (after evicting models)."""
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and torch.backends.mps.is_available():
        torch.mps.empty_cache()


def available_bytes(device: DeviceChoice) -> int:
    """Memory a job can still take on `device` (free VRAM plus what torch holds unused)."""
    if device.device == "cuda":
        free, _total = torch.cuda.mem_get_info()
        return int(free + torch.cuda.memory_reserved() - torch.cuda.memory_allocated())
    import psutil

    return int(psutil.virtual_memory().available)


def memory_budget_bytes(device: DeviceChoice, share: float = 0.75) -> int:
    """How much the model cache may hold: a share of VRAM on CUDA, of RAM elsewhere."""
    if device.device == "cuda":
        return int(torch.cuda.get_device_properties(0).total_memory * share)
    import psutil

    return int(psutil.virtual_memory().total * share * 0.66)
