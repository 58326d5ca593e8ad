"""NovelAI: `Software` = "NovelAI", `Description` (the prompt), `Source` (the model,
e.g. "NovelAI Diffusion V4.5 4BDE2A90") and `Comment`, a JSON of the request: "prompt",
"uc" (negative), "steps", "scale", "seed", "sampler" (NovelAI's names),
"noise_schedule", "width", "height", "strength"; V4 adds "v4_prompt" and
"v4_negative_prompt" ({"caption": {"base_caption": ...}}). Read as
receyuki/stable-diffusion-prompt-reader (sd_prompt_reader/format/novelai.py) reads it.
In a WebP the same texts are one JSON object in EXIF UserComment.
The "stealth" copy NovelAI hides in the alpha channel's low bits is not read.
"""

from __future__ import annotations

from typing import Any

from engine.api import untrusted_json
from engine.store.foreign.jsontext import load_object, looks_like_object, take, text_of
from engine.store.foreign.names import NOVELAI, sampler_name
from engine.store.foreign.result import Draft

FIELDS = {
    "uc": "negative_prompt",
    "steps": "steps",
    "scale": "cfg_scale",
    "seed": "seed",
    "width": "width",
    "height": "height",
    "strength": "denoising_strength",
}
DONE = ("prompt", "sampler", "noise_schedule", "v4_prompt", "v4_negative_prompt")


def is_novelai(texts: dict[str, str]) -> bool:
    texts = _in_webp(texts)
    return texts.get("Software", "").startswith("NovelAI") and "Comment" in texts


def _in_webp(texts: dict[str, str]) -> dict[str, str]:
    """NovelAI's WebP puts its PNG texts, as one JSON object ({"Comment": ..., "Software":
    "NovelAI", ...}), in EXIF UserComment, which we read as `parameters`."""
    raw = texts.get("parameters")
    if "Software" in texts or not looks_like_object(raw) or '"NovelAI' not in raw:  # type: ignore[operator]
        return texts
    try:
        packed = untrusted_json.loads(raw)  # type: ignore[arg-type]
    except ValueError:
        return texts
    if not isinstance(packed, dict):
        return texts
    inner = {k: v for k, v in packed.items() if isinstance(k, str) and isinstance(v, str)}
    return {**inner, **{k: v for k, v in texts.items() if k != "parameters"}}


def read_novelai(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="novelai")
    texts = _in_webp(texts)
    draft.put("model", texts.get("Source"))
    data = load_object(texts["Comment"], "NovelAI's Comment", draft)
    if data is None:
        draft.put("prompt", texts.get("Description"))
        draft.keep("Comment", texts["Comment"])
        return draft
    take(data, FIELDS, draft, DONE)
    prompt = text_of(data.get("prompt")) or _caption(data.get("v4_prompt"))
    draft.put("prompt", prompt or texts.get("Description"))
    if "negative_prompt" not in draft.values:
        draft.put("negative_prompt", _caption(data.get("v4_negative_prompt")))
    name, schedule = text_of(data.get("sampler")), text_of(data.get("noise_schedule"))
    if name:
        draft.put("sampler", sampler_name(NOVELAI, name, schedule or "", draft.notes))
    draft.put("scheduler", schedule)
    return draft


def _caption(value: Any) -> str | None:
    caption = value.get("caption") if isinstance(value, dict) else None
    return text_of(caption.get("base_caption")) if isinstance(caption, dict) else None
