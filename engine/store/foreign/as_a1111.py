"""A ForeignRead in the words of engine.store.a1111.parse_parameters, so "Use these
parameters" builds its request through engine.api.a1111_request.request_from_parameters
for every tool: the same sampler check, and the same `missing` ("source image" for a
denoising strength) instead of a guess.

Only the mapped fields travel: a picture with A1111 text of its own is better served by
ImageMetadata.from_parameters, which also reads its hires, inpaint and control keys.
LoRAs are not prompt text in most tools, so they stay in ForeignRead.loras for the
caller to resolve against its folders.
"""

from __future__ import annotations

from typing import Any

from engine.api.schedule_types import SPACING_OF_SCHEDULE, schedule_label
from engine.store.a1111 import format_number, format_parameters
from engine.store.foreign.result import ForeignRead


def a1111_params(read: ForeignRead) -> dict[str, Any]:
    """Our field names are parse_parameters' keys already; `scheduler` travels only as a
    timestep spacing ("sgm_uniform": A1111's "SGM Uniform"), as "Karras" is in the
    sampler's name already and other schedules have no equivalent here."""
    params: dict[str, Any] = {"prompt": "", "negative_prompt": ""}
    params.update((k, v) for k, v in read.fields.items() if k != "scheduler")
    label = schedule_label(str(read.fields.get("scheduler") or ""))
    if label in SPACING_OF_SCHEDULE:
        params["schedule_type"] = label
    return params


# (field, A1111 key) of the settings line, in the order A1111 writes them
# (modules/processing.py create_infotext; "Schedule type" since A1111 1.9).
A1111_KEYS = (
    ("steps", "Steps"),
    ("sampler", "Sampler"),
    ("scheduler", "Schedule type"),
    ("cfg_scale", "CFG scale"),
    ("seed", "Seed"),
    ("size", "Size"),
    ("model_hash", "Model hash"),
    ("model", "Model"),
    ("vae", "VAE"),
    ("denoising_strength", "Denoising strength"),
    ("clip_skip", "Clip skip"),
)
_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")


def as_a1111_text(read: ForeignRead) -> str | None:
    """Another tool's mapped fields as A1111 `parameters` text (export and Copy
    parameters; other sites read it): the mapped fields only, LoRAs as
    <lora:name:weight> in the prompt, where A1111 keeps them. None when nothing was read."""
    if read.error or not read.fields:
        return None
    fields = dict(read.fields)
    if scheduler := fields.get("scheduler"):  # A1111's label where it has one ("karras")
        fields["scheduler"] = schedule_label(str(scheduler)) or scheduler
    if fields.get("width") and fields.get("height"):
        fields["size"] = f"{fields['width']}x{fields['height']}"
    loras = " ".join(f"<lora:{_stem(x.name)}:{format_number(x.weight)}>" for x in read.loras)
    prompt = " ".join(p for p in (str(fields.get("prompt", "")), loras) if p)
    params = [
        (key, format_number(value) if isinstance(value, int | float) else value)
        for field, key in A1111_KEYS
        if (value := fields.get(field)) not in (None, "")
    ]
    return format_parameters(prompt, str(fields.get("negative_prompt", "")), params)


def _stem(name: str) -> str:
    """A LoRA's name as A1111 prompts name it: without its file's extension."""
    for suffix in _MODEL_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
