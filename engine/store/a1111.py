"""The `parameters` text chunk as AUTOMATIC1111's web UI writes and reads it.

    <prompt, possibly several lines>
    Negative prompt: <negative prompt, possibly several lines>
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, Model: x, ...

The last line is `Key: value` pairs; a value holding ',', ':' or a newline is written
as a JSON string. Most tools (A1111, Forge, ComfyUI readers, Civitai) understand it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from typing import Any

NEGATIVE_PREFIX = "Negative prompt:"

# The same pattern A1111 parses with, so we read what it reads.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_MIN_PARAMS = 3  # fewer on the last line: it is part of the prompt (A1111's rule)

_INTS = {
    "steps",
    "seed",
    "clip_skip",
    "width",
    "height",
    "hires_steps",
    "subseed",
    "variation_seed",
    "mask_blur",
    "masked_area_padding",
}
_FLOATS = {
    "cfg_scale",
    "denoising_strength",
    "subseed_strength",
    "hires_upscale",
    "variation_seed_strength",
}


def quote(value: object) -> str:
    text = str(value)
    if any(c in text for c in ",:\n"):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_parameters(
    prompt: str, negative_prompt: str, params: Iterable[tuple[str, object]]
) -> str:
    """The text A1111 would write; `params` with a None value are left out."""
    line = ", ".join(f"{key}: {quote(value)}" for key, value in params if value is not None)
    negative = f"\n{NEGATIVE_PREFIX} {negative_prompt}" if negative_prompt else ""
    return f"{prompt}{negative}\n{line}".strip()


def parse_parameters(text: str) -> dict[str, Any]:
    """Read a `parameters` text into snake_case keys.

    Always has `prompt` and `negative_prompt`; `Size: WxH` becomes `width`/`height`;
    known numbers are converted, and a number that does not parse is left out rather
    than passed on as a string. Other keys keep their text value.
    """
    *lines, last = text.replace("\r\n", "\n").strip().split("\n")
    if len(_PARAM.findall(last)) < _MIN_PARAMS:
        lines.append(last)
        last = ""
    result: dict[str, Any] = _split_prompts(lines)
    for key, raw in _PARAM.findall(last):
        _put(result, _snake(key), _unquote(raw.strip()))
    return result


def _split_prompts(lines: list[str]) -> dict[str, Any]:
    prompt: list[str] = []
    negative: list[str] = []
    target = prompt
    for line in lines:
        line = line.strip()
        if target is prompt and line.startswith(NEGATIVE_PREFIX):
            target = negative
            line = line[len(NEGATIVE_PREFIX) :].strip()
        target.append(line)
    return {"prompt": "\n".join(prompt).strip(), "negative_prompt": "\n".join(negative).strip()}


def _put(result: dict[str, Any], key: str, value: str) -> None:
    size = _SIZE.match(value)
    if key == "size" and size:
        result["width"], result["height"] = int(size.group(1)), int(size.group(2))
    elif key in _INTS:
        _put_number(result, key, value, int)
    elif key in _FLOATS:
        _put_number(result, key, value, float)
    else:
        result.setdefault(key, value)  # prompt/negative_prompt come from the lines


def _put_number(result: dict[str, Any], key: str, value: str, cast: type) -> None:
    with contextlib.suppress(ValueError):
        result[key] = cast(value)


def _snake(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", key.strip().lower()).strip("_")


def _unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value
