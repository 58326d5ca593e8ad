"""InvokeAI 2.x and its forerunner, lstein/stable-diffusion's dream.py (2022-23): before
`invokeai_metadata` (invokeai.py) they wrote

- `sd-metadata` (2.x, ldm/invoke/pngwriter.py): {"model_weights", "model_hash",
  "app_version", "image": {"prompt": [{"prompt", "weight"}] or text, "steps",
  "cfg_scale", "seed", "width", "height", "sampler" ("k_lms", ...), "strength"}};
- `Dream` beside it, or alone in older pictures: the command that made the picture,
  '"a prompt [its negative]" -s 50 -S 2980747362 -W 512 -H 768 -C 5 -A k_lms'.

Both write the negative prompt inside the prompt, in square brackets.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from engine.store.foreign.jsontext import load_object, take, text_of
from engine.store.foreign.names import invoke_sampler, sampler_name
from engine.store.foreign.result import Draft

META, DREAM = "sd-metadata", "Dream"
IMAGE_FIELDS = {
    "steps": "steps",
    "cfg_scale": "cfg_scale",
    "seed": "seed",
    "width": "width",
    "height": "height",
    "strength": "denoising_strength",
}
# dream.py's switches (ldm/invoke/args.py): -s steps, -S seed, -W/-H size, -C CFG,
# -A sampler, -f img2img strength. The others (upscale, face fix) are kept as written.
SWITCHES = {
    "-s": "steps",
    "-S": "seed",
    "-W": "width",
    "-H": "height",
    "-C": "cfg_scale",
    "-f": "denoising_strength",
}
# dream.py's and early 2.x's sampler names (sampler_choices); 2.3 added the diffusers
# names InvokeAI 3+ still uses ("dpmpp_2m_k"), read by names.invoke_sampler.
SAMPLERS = {
    "ddim": "DDIM",
    "plms": "PLMS",
    "k_lms": "LMS",
    "k_euler": "Euler",
    "k_euler_a": "Euler a",
    "k_heun": "Heun",
    "k_dpm_2": "DPM2",
    "k_dpm_2_a": "DPM2 a",
}
_NEGATIVE = re.compile(r"\[([^\[\]]*)\]")


def is_invokeai_legacy(texts: dict[str, str]) -> bool:
    return META in texts or DREAM in texts


def read_invokeai_legacy(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="invokeai")
    data = load_object(texts[META], "InvokeAI's sd-metadata", draft) if META in texts else None
    if data is not None and isinstance(data.get("image"), dict):
        _read_meta(data, draft)
    elif DREAM in texts:
        _read_dream(texts[DREAM], draft)
    else:
        draft.keep(META, texts.get(META))
    return draft


def _read_meta(data: dict[str, Any], draft: Draft) -> None:
    image = data["image"]
    take(image, IMAGE_FIELDS, draft, ("prompt", "sampler"))
    _prompts(_prompt_text(image.get("prompt")), draft)
    name = text_of(image.get("sampler"))
    if name:
        draft.put("sampler", _sampler(name, draft))
    draft.put("model", text_of(data.get("model_weights")))
    draft.put("model_hash", text_of(data.get("model_hash")))
    draft.keep("app_version", data.get("app_version"))


def _sampler(name: str, draft: Draft) -> str | None:
    if name in SAMPLERS:
        return sampler_name(SAMPLERS, name, "", draft.notes)
    return invoke_sampler(name, draft.notes)


def _prompt_text(value: Any) -> str | None:
    """2.x writes a list of weighted prompts; a blend of several is kept as its first."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return text_of(value[0].get("prompt"))
    return text_of(value)


def _read_dream(command: str, draft: Draft) -> None:
    try:
        words = shlex.split(command)
    except ValueError:
        draft.notes.append("The Dream command is not readable (an unclosed quote).")
        draft.keep(DREAM, command)
        return
    if not words:
        return
    _prompts(words[0], draft)
    rest = words[1:]
    for at, word in enumerate(rest):
        value = rest[at + 1] if at + 1 < len(rest) else None
        if word in SWITCHES:
            draft.put(SWITCHES[word], value)
        elif word == "-A" and value:
            draft.put("sampler", _sampler(value, draft))
    draft.keep(DREAM, command)


def _prompts(text: str | None, draft: Draft) -> None:
    if not text:
        return
    negatives = [n.strip() for n in _NEGATIVE.findall(text) if n.strip()]
    draft.put("prompt", _NEGATIVE.sub("", text).strip())
    draft.put("negative_prompt", ", ".join(negatives))
