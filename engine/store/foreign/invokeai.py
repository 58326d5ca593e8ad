"""InvokeAI's `invokeai_metadata` text chunk (invokeai/app/services/image_files/
image_files_disk.py): the JSON of CoreMetadataInvocation (invokeai/app/invocations/
metadata.py). Models are identifiers {"key", "hash", "name", "base", "type"} (3.x:
{"model_name", "base_model"}); LoRAs are [{"model": identifier, "weight"}] (3.x:
{"lora": ..., "weight"}). Its clip_skip counts layers skipped (0: none), A1111's
counts from 1, so ours is one more.
"""

from __future__ import annotations

from typing import Any

from engine.store.foreign.jsontext import load_object, name_of, take, text_of
from engine.store.foreign.names import invoke_sampler
from engine.store.foreign.result import Draft, as_number

KEY = "invokeai_metadata"
FIELDS = {
    "positive_prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "steps": "steps",
    "cfg_scale": "cfg_scale",
    "width": "width",
    "height": "height",
    "strength": "denoising_strength",
}
DONE = ("scheduler", "model", "vae", "loras", "clip_skip", "app_version")


def is_invokeai(texts: dict[str, str]) -> bool:
    return KEY in texts


def read_invokeai(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="invokeai")
    data = load_object(texts[KEY], "InvokeAI's metadata", draft)
    if data is None:
        draft.keep(KEY, texts[KEY])
        return draft
    take(data, FIELDS, draft, DONE)
    scheduler = text_of(data.get("scheduler"))
    if scheduler:
        draft.put("scheduler", scheduler)
        draft.put("sampler", invoke_sampler(scheduler, draft.notes))
    model = data.get("model")
    draft.put("model", name_of(model))
    if isinstance(model, dict):
        draft.put("model_hash", text_of(model.get("hash")))
    draft.put("vae", name_of(data.get("vae")))
    skipped = as_number(data.get("clip_skip"), integer=True)
    if isinstance(skipped, int) and skipped >= 0:
        draft.put("clip_skip", skipped + 1)
    elif data.get("clip_skip") is not None:
        draft.put("clip_skip", data.get("clip_skip"))  # refused with a note by the check
    draft.loras.extend(_loras(data.get("loras")))
    draft.keep("app_version", data.get("app_version"))
    return draft


def _loras(value: Any) -> list[tuple[Any, Any]]:
    if not isinstance(value, list):
        return []
    found = []
    for lora in value:
        if isinstance(lora, dict):
            found.append((name_of(lora.get("model", lora.get("lora"))), lora.get("weight")))
    return found
