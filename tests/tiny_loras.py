"""Test support: a tiny LoRA for a tiny pipeline, written in diffusers' (peft) key layout
and in kohya's (the layout A1111 and most model sites use).

The kohya file is converted here by hand from kohya's documented naming: the module
path with dots turned into underscores after `lora_unet_`, `lora_down`/`lora_up` for
peft's A/B, and an `alpha` equal to the rank (scale 1).
"""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
RANK = 4


def lora_state(unet, seed: int = 0) -> dict[str, torch.Tensor]:
    """peft A/B matrices for the unet's attention projections, random (B is not zero)."""
    generator = torch.Generator().manual_seed(seed)
    unet.add_adapter(LoraConfig(r=RANK, lora_alpha=RANK, target_modules=TARGETS), "tiny")
    state = get_peft_model_state_dict(unet, adapter_name="tiny")
    unet.delete_adapters("tiny")
    return {
        name: torch.randn(t.shape, generator=generator) * 0.3 for name, t in sorted(state.items())
    }


def save_diffusers_lora(state: dict[str, torch.Tensor], path: Path) -> Path:
    save_file({f"unet.{name}": t.contiguous() for name, t in state.items()}, str(path))
    return path


def save_kohya_lora(state: dict[str, torch.Tensor], path: Path) -> Path:
    out = {}
    for name, tensor in state.items():
        module, kind = name.rsplit(".lora_", 1)  # "...attn1.to_q", "A.weight"
        base = "lora_unet_" + module.replace(".", "_")
        out[f"{base}.lora_{'down' if kind.startswith('A') else 'up'}.weight"] = tensor
        out[f"{base}.alpha"] = torch.tensor(float(RANK))
    save_file({k: v.contiguous() for k, v in out.items()}, str(path))
    return path
