"""Where a Stable Diffusion pipeline's weights live on CUDA: all on the GPU, or offloaded
to the CPU (diffusers' model offload, then its sequential offload) when the GPU is
smaller than the model.

The choice is a pure function of numbers (`choose_offload`, tested as a literal table):
the GPU's free memory, the model's sizes (parameters × their dtype's bytes) and the
job's activations (engine.models.sd.memory) with a margin. The user can force a mode
(Settings, `--offload`). Offloading moves weights, not numbers: on the same device the
pixels are the same in every mode, only slower. The CPU and Apple GPUs never offload.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from engine.device import available_bytes
from engine.models.sd.memory import gigabytes
from engine.registry import RunnerEnv

log = logging.getLogger(__name__)

OFFLOAD_CHOICES = ("auto", "none", "model", "sequential")
NONE, MODEL, SEQUENTIAL = "none", "model", "sequential"

# The activation estimate (engine.models.sd.memory) is a rough count of live tensors; a
# CUDA job also needs cuBLAS/cuDNN workspaces, the attention's temporary buffers and
# room for the caching allocator's fragmentation, none of which that count sees, and
# none of which shows in mem_get_info's free figure before the first kernels run. So
# the job's activations are taken 1.5 times over, plus a fixed 0.75 GB.
ACTIVATION_MARGIN = 1.5
FIXED_RESERVE = 768 * 2**20

# The rule as data, tried in order: the first mode whose resident weights, plus the
# job's activations with the margin, fit the free memory. "model" keeps one whole model
# (text encoder, UNet, VAE) on the GPU at a time, so the largest one must fit;
# "sequential" keeps one layer at a time. Sequential is the last resort: if even it
# cannot fit, the job's own memory check says so in a sentence.
RULE: tuple[tuple[str, str], ...] = (
    (NONE, "all"),
    (MODEL, "largest model"),
    (SEQUENTIAL, "largest layer"),
)


@dataclass(frozen=True)
class ModelSizes:
    """Bytes of a pipeline's weights: all of them, its largest model, its largest layer."""

    all: int
    largest_model: int
    largest_layer: int

    def resident(self, what: str) -> int:
        return {"all": self.all, "largest model": self.largest_model}.get(what, self.largest_layer)


@dataclass(frozen=True)
class Offload:
    mode: str  # NONE, MODEL or SEQUENTIAL
    reason: str  # for the job's notice and the log

    @property
    def note(self) -> str:
        """The sentence a picture's details show; "" when nothing was offloaded."""
        if self.mode == NONE:
            return ""
        how = "one model at a time" if self.mode == MODEL else "one layer at a time"
        return (
            f"Weights offloaded to the CPU ({self.mode} offload: {how} on the GPU; "
            f"{self.reason}): slower, the same pixels."
        )


def choose_offload(preference: str, free: int, sizes: ModelSizes, activations: int) -> Offload:
    """The mode for `preference` ("auto", "none", "model", "sequential")."""
    if preference in (NONE, MODEL, SEQUENTIAL):
        return Offload(preference, "as chosen in Settings")
    need = int(activations * ACTIVATION_MARGIN) + FIXED_RESERVE
    for mode, what in RULE:
        if sizes.resident(what) + need <= free:
            return Offload(mode, _reason(mode, free, sizes))
    return Offload(SEQUENTIAL, _reason(SEQUENTIAL, free, sizes))


def _reason(mode: str, free: int, sizes: ModelSizes) -> str:
    if mode == NONE:
        return f"the model ({gigabytes(sizes.all)}) fits the GPU's {gigabytes(free)} free"
    return f"the GPU has {gigabytes(free)} free, the model needs {gigabytes(sizes.all)}"


def model_sizes(pipe: Any) -> ModelSizes:
    """Parameters and buffers × their element size, per model of the pipeline."""
    models = [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]
    per_model = [_bytes(m.parameters()) + _bytes(m.buffers()) for m in models]
    layers = [_bytes(layer.parameters(recurse=False)) for m in models for layer in m.modules()]
    return ModelSizes(sum(per_model), max(per_model, default=0), max(layers, default=0))


def _bytes(tensors: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def offload_for(env: RunnerEnv, pipe: Any, activations: int) -> Offload:
    """Whole on the GPU, or offloaded: from its free memory (torch.cuda.mem_get_info,
    through available_bytes) and this job's activations; logged."""
    free = available_bytes(env.device)
    offload = choose_offload(env.offload, free, model_sizes(pipe), activations)
    log.info("offload: %s (%s)", offload.mode, offload.reason)
    return offload


def place(pipe: Any, device: str, offload: Offload) -> Any:
    """The pipeline on `device`, or offloaded to it by diffusers' own hooks (accelerate's):
    the weights wait in CPU memory and move in when their model (or layer) runs."""
    if offload.mode == MODEL:
        pipe.enable_model_cpu_offload(device=device)
    elif offload.mode == SEQUENTIAL:
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    return pipe
