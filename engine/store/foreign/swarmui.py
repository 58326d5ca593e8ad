"""SwarmUI: `parameters` (PNG) or EXIF UserComment (JPEG, WebP) holding JSON
{"sui_image_params": {...}, "sui_extra_data": {...}, "sui_models": [...]}
(src/Text2Image/T2IParamInput.cs GenFullMetadataObject, src/Media/ImageFile.cs).

Parameter ids are the names in lower case letters only (T2IParamTypes.CleanTypeName):
"prompt", "negativeprompt", "seed", "steps", "cfgscale", "width", "height", "model",
"vae", "sampler"/"scheduler" (ComfyUI's names; before 0.9: "comfyuisampler",
"autowebuisampler"), "loras" and "loraweights" (lists), "clipstopatlayer" (-2 is
A1111's clip skip 2), "initimagecreativity" (the denoising strength of an init image).
"""

from __future__ import annotations

from typing import Any

from engine.store.foreign.jsontext import load_object, looks_like_object, take, text_of
from engine.store.foreign.names import COMFY, sampler_name
from engine.store.foreign.result import Draft, as_number

FIELDS = {
    "prompt": "prompt",
    "negativeprompt": "negative_prompt",
    "seed": "seed",
    "steps": "steps",
    "cfgscale": "cfg_scale",
    "width": "width",
    "height": "height",
    "model": "model",
    "vae": "vae",
    "initimagecreativity": "denoising_strength",
}
DONE = ("sampler", "comfyuisampler", "autowebuisampler", "scheduler", "loras", "loraweights")
DONE += ("clipstopatlayer",)


def is_swarmui(texts: dict[str, str]) -> bool:
    text = texts.get("parameters")
    return looks_like_object(text) and "sui_image_params" in text  # type: ignore[operator]


def read_swarmui(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="swarmui")
    whole = load_object(texts["parameters"], "SwarmUI's parameters", draft)
    params = whole.get("sui_image_params") if whole else None
    if not isinstance(params, dict):
        draft.keep("parameters", texts["parameters"])
        return draft
    take(params, FIELDS, draft, DONE)
    name = text_of(params.get("sampler") or params.get("comfyuisampler"))
    schedule = text_of(params.get("scheduler")) or ""
    if name:
        draft.put("sampler", sampler_name(COMFY, name, schedule, draft.notes))
    elif text_of(params.get("autowebuisampler")):
        draft.put("sampler", params["autowebuisampler"])
    draft.put("scheduler", schedule)
    _clip_skip(params.get("clipstopatlayer"), draft)
    draft.loras.extend(_loras(params.get("loras"), params.get("loraweights")))
    _model_hash(whole.get("sui_models"), draft)  # type: ignore[union-attr]
    return draft


def _clip_skip(value: Any, draft: Draft) -> None:
    layer = as_number(value, integer=True)
    if isinstance(layer, int) and layer < 0:
        draft.put("clip_skip", -layer)
    elif value is not None:
        draft.notes.append(f"CLIP stop at layer {value!r} is not a layer from the end.")


def _loras(names: Any, weights: Any) -> list[tuple[Any, Any]]:
    if not isinstance(names, list):
        return []
    weights = weights if isinstance(weights, list) else []
    return [(n, weights[i] if i < len(weights) else 1.0) for i, n in enumerate(names)]


def _model_hash(models: Any, draft: Draft) -> None:
    for model in models if isinstance(models, list) else []:
        if isinstance(model, dict) and model.get("param") == "model":
            draft.put("model_hash", text_of(model.get("hash")))
