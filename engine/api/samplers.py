"""Sampler names as AUTOMATIC1111 writes them, so recipes read the same in other tools.

engine.models.sd.samplers maps each name to a diffusers scheduler. This module is the
plain-data half: what the GUI offers, and how a model's own scheduler is named in A1111
text when the user chose "model default".
"""

from __future__ import annotations

SAMPLER_NAMES: tuple[str, ...] = (
    "Euler",
    "Euler a",
    "DPM++ 2M",
    "DPM++ 2M Karras",
    "DDIM",
    "UniPC",
    "DPM++ 2M SDE",
    "DPM++ 2M SDE Karras",
    "DPM++ SDE",
    "DPM++ SDE Karras",
    "DPM2",
    "DPM2 Karras",
    "DPM2 a",
    "DPM2 a Karras",
    "Heun",
    "LMS",
    "LMS Karras",
    "PLMS",
    "LCM",  # A1111's name (modules/sd_samplers_lcm.py); diffusers' LCMScheduler
    "TCD",  # Forge's and InvokeAI's name; diffusers' TCDScheduler
)

# Timestep spacing (diffusers' `timestep_spacing`): "" keeps the model's own. Few-step
# models (Turbo, Lightning, Hyper) are distilled on "trailing" spacing, which starts at
# the last training timestep; A1111 and ComfyUI call the same idea "SGM Uniform".
SPACINGS: tuple[str, ...] = ("", "leading", "trailing", "linspace")

# The diffusers class a model ships with -> the A1111 name of that algorithm.
A1111_NAME_OF_SCHEDULER: dict[str, str] = {
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "HeunDiscreteScheduler": "Heun",
    "LMSDiscreteScheduler": "LMS",
    "KDPM2DiscreteScheduler": "DPM2",
    "KDPM2AncestralDiscreteScheduler": "DPM2 a",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "DDIMScheduler": "DDIM",
    "PNDMScheduler": "PLMS",
    "UniPCMultistepScheduler": "UniPC",
    "LCMScheduler": "LCM",
    "TCDScheduler": "TCD",
}


def a1111_sampler_name(name: str) -> str:
    """An A1111 name for either an A1111 name or a diffusers scheduler class name."""
    return A1111_NAME_OF_SCHEDULER.get(name, name)
