"""The one place that decides which device and dtype the engine computes on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.jobs import DeviceInfo

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # torch device string
    dtype: torch.dtype
    name: str = ""  # e.g. the GPU's marketing name

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    def info(self) -> DeviceInfo:
        short = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(self.dtype, "fp32")
        parts = [self.device.upper()] + ([self.name] if self.name else []) + [short]
        return DeviceInfo(self.device, self.dtype_name, " · ".join(parts))


def choose_device(preference: str = "auto") -> DeviceChoice:
    """auto picks cuda, then mps, then cpu. Half precision only where it is fast and safe."""
    preference = (preference or "auto").lower()
    if preference not in DEVICE_CHOICES:
        preference = "auto"
    if preference in ("auto", "cuda") and torch.cuda.is_available():
        return DeviceChoice("cuda", torch.float16, torch.cuda.get_device_name(0))
    if preference in ("auto", "mps") and torch.backends.mps.is_available():
        return DeviceChoice("mps", torch.float16, "Apple GPU")
    return DeviceChoice("cpu", torch.float32)
