"""Draw Things: XMP (a PNG's `XML:com.adobe.xmp` iTXt) whose exif:UserComment holds a
JSON of the generation: "c" (prompt), "uc" (negative), "seed", "steps", "scale",
"sampler" (A1111-like names: "DPM++ 2M Karras", "Euler A"), "size" ("512x768"),
"model" (file name), "strength", "lora" ([{"file", "weight"}]), with xmp:CreatorTool
"Draw Things". Read as receyuki/stable-diffusion-prompt-reader
(sd_prompt_reader/format/drawthings.py, image_data_reader.py) reads it; Draw Things'
own code is not public, so the LoRA list's shape is the one those readers expect.
"""

from __future__ import annotations

import html
import re
from typing import Any

from engine.store.foreign.exif_text import XMP_KEY
from engine.store.foreign.jsontext import load_object, take, text_of
from engine.store.foreign.names import KNOWN
from engine.store.foreign.result import Draft

FIELDS = {
    "c": "prompt",
    "uc": "negative_prompt",
    "seed": "seed",
    "steps": "steps",
    "scale": "cfg_scale",
    "model": "model",
    "strength": "denoising_strength",
    "width": "width",
    "height": "height",
}
DONE = ("sampler", "size", "lora")
_COMMENT = re.compile(r"<exif:UserComment\b[^>]*>(.*?)</exif:UserComment>", re.S)
_TAG = re.compile(r"<[^>]*>")
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def is_drawthings(texts: dict[str, str]) -> bool:
    xmp = texts.get(XMP_KEY, "")
    return "exif:UserComment" in xmp and ("Draw Things" in xmp or '"uc"' in xmp)


def read_drawthings(texts: dict[str, str]) -> Draft:
    draft = Draft(tool="draw-things")
    found = _COMMENT.search(texts[XMP_KEY])
    comment = html.unescape(_TAG.sub("", found.group(1))).strip() if found else ""
    data = load_object(comment, "Draw Things' UserComment", draft) if comment else None
    if data is None:
        draft.keep(XMP_KEY, texts[XMP_KEY])
        return draft
    take(data, FIELDS, draft, DONE)
    sampler = text_of(data.get("sampler"))
    if sampler:
        known = KNOWN.get(sampler.strip().lower())
        if known is None:
            draft.notes.append(f"The sampler {sampler!r} has no A1111 name: kept as written.")
        draft.put("sampler", known or sampler)
    size = _SIZE.match(data.get("size", "")) if isinstance(data.get("size"), str) else None
    if size:
        draft.put("width", int(size.group(1)))
        draft.put("height", int(size.group(2)))
    draft.loras.extend(_loras(data.get("lora")))
    return draft


def _loras(value: Any) -> list[tuple[Any, Any]]:
    items = value if isinstance(value, list) else []
    dicts = [x for x in items if isinstance(x, dict)]
    return [(x.get("file") or x.get("model"), x.get("weight", 1.0)) for x in dicts]
