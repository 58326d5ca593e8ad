"""NovelAI: `Software` = "NovelAI", `Description` (the prompt), `Source` (the model,
e.g. "NovelAI Diffusion V4.5 4BDE2A90") and `Comment`, a JSON of the request: "prompt",
"uc" (negative), "steps", "scale", "seed", "sampler" (NovelAI's names),
"noise_schedule", "width", "height", "strength"; V4 adds "v4_prompt" and
"v4_negative_prompt" ({"caption": {"base_caption": ...}}). Read as
receyuki/stable-diffusion-prompt-reader (sd_prompt_reader/format/novelai.py) reads it.
The "stealth" copy NovelAI hides in the alpha channel's low bits is not read.
"""

from __future__ import annotations

from typing import Any

from engine.store.foreign.jsontext import load_object, take, text_of
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
    return texts.get("Software", "").startswith("NovelAI") and "Comment" in texts


def read_novelai(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="novelai")
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
