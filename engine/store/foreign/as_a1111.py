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

from engine.store.foreign.result import ForeignRead

# Our field -> parse_parameters' key. `scheduler` has none: Karras is in the sampler name.
KEYS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "steps": "steps",
    "cfg_scale": "cfg_scale",
    "sampler": "sampler",
    "width": "width",
    "height": "height",
    "model": "model",
    "model_hash": "model_hash",
    "vae": "vae",
    "clip_skip": "clip_skip",
    "denoising_strength": "denoising_strength",
}


def a1111_params(read: ForeignRead) -> dict[str, Any]:
    params: dict[str, Any] = {"prompt": "", "negative_prompt": ""}
    params.update((KEYS[k], v) for k, v in read.fields.items() if k in KEYS)
    return params
