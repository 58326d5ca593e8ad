"""Fooocus: `parameters` as JSON with `fooocus_scheme` = "fooocus" beside it (modules/
private_logger.py log, modules/meta_parser.py FooocusMetadataParser.to_string); in a
JPEG or WebP the JSON is in EXIF UserComment and the scheme in MakerNote. Older
versions wrote the JSON in a `Comment` chunk. With the "a1111" scheme the text is
A1111's and is read as such (tool "fooocus").

Keys as modules/async_worker.py save_and_log writes them: "prompt", "negative_prompt",
"steps", "guidance_scale", "seed" (text), "resolution" ("(1152, 896)"), "sampler" and
"scheduler" (ComfyUI's names), "base_model" (file stem), "base_model_hash", "vae",
"clip_skip", "loras" ([[name, weight, hash], ...]) and "lora_combined_N" ("name : w").
"""

from __future__ import annotations

import re
from typing import Any

from engine.store.foreign.jsontext import load_object, looks_like_object, take, text_of
from engine.store.foreign.names import COMFY, sampler_name
from engine.store.foreign.result import Draft

FIELDS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "steps": "steps",
    "guidance_scale": "cfg_scale",
    "seed": "seed",
    "base_model": "model",
    "base_model_hash": "model_hash",
    "clip_skip": "clip_skip",
}
DONE = ("resolution", "sampler", "scheduler", "vae", "loras", "full_prompt", "full_negative_prompt")
_RESOLUTION = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def is_fooocus(texts: dict[str, str]) -> bool:
    scheme = texts.get("fooocus_scheme")
    legacy = "Comment" in texts and "Software" not in texts and looks_like_object(texts["Comment"])
    return (scheme == "fooocus" and looks_like_object(texts.get("parameters"))) or legacy


def read_fooocus(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="fooocus")
    raw = texts.get("parameters") if "fooocus_scheme" in texts else texts["Comment"]
    data = load_object(raw or "", "Fooocus's parameters", draft)
    if data is None:
        draft.keep("parameters", raw)
        return draft
    take(data, FIELDS, draft, DONE)
    for key in [k for k in draft.unmapped if k.startswith("lora_combined_")]:
        del draft.unmapped[key]  # the same LoRAs as "loras", read below
    _resolution(data.get("resolution"), draft)
    name, schedule = text_of(data.get("sampler")), text_of(data.get("scheduler"))
    if name:
        draft.put("sampler", sampler_name(COMFY, name, schedule or "", draft.notes))
    draft.put("scheduler", schedule)
    vae = text_of(data.get("vae"))
    if vae and vae not in ("Default (model)", "None"):
        draft.put("vae", vae)
    draft.loras.extend(_loras(data))
    return draft


def _resolution(value: Any, draft: Draft) -> None:
    match = _RESOLUTION.match(value) if isinstance(value, str) else None
    if match:
        draft.put("width", int(match.group(1)))
        draft.put("height", int(match.group(2)))
    elif value is not None:
        draft.notes.append(f'The resolution {value!r} is not "(width, height)": not used.')


def _loras(data: dict[str, Any]) -> list[tuple[Any, Any]]:
    listed = data.get("loras")
    if isinstance(listed, list):
        return [(x[0], x[1]) for x in listed if isinstance(x, list) and len(x) >= 2]
    combined = [v for k, v in sorted(data.items()) if k.startswith("lora_combined_")]
    pairs = [text.rsplit(" : ", 1) for text in combined if isinstance(text, str)]
    return [(p[0], p[1]) for p in pairs if len(p) == 2]
