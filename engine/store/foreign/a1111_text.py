"""A1111's `parameters` text, as AUTOMATIC1111, Forge, Krita AI Diffusion and our own
pictures write it (engine.store.a1111 parses it the way A1111 does).

Which tool wrote it is read from the text: A1111 ends with "Version: v1.10.1", Forge
with "Version: f2.0.1v1.10.1-..." (Forge Classic and Neo: "classic", "neo"), ours
with "Version: latentstudio ...". Krita AI Diffusion (ai_diffusion/text.py
create_img_metadata) writes no Version and always "Model hash: unknown", with its
LoRAs as <lora:name:weight> in the prompt.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engine.store.a1111 import parse_parameters
from engine.store.foreign.names import KNOWN
from engine.store.foreign.result import RULES, Draft

# Our field names are parse_parameters' own keys (A1111's, in snake_case); the sampler
# and its schedule are read together below. Every other key is kept as unmapped.
FIELDS = frozenset(RULES) - {"sampler", "scheduler"}
_LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]+))?[^>]*>")
# Haoming02's sd-webui-forge-classic writes its branch alone as the version.
FORGE_FORKS = ("classic", "neo")
_NUMBERS = ("seed", "steps", "cfg_scale", "width", "height", "clip_skip", "denoising_strength")


def is_a1111_text(texts: dict[str, str]) -> bool:
    """Any `parameters` text but a JSON object (SwarmUI's or Fooocus's, or one a reader
    before this refused): a prompt may well start with "{", as in "{red|blue} fox"."""
    text = texts.get("parameters", "")
    return bool(text.strip()) and not _is_json_object(text)


def _is_json_object(text: str) -> bool:
    if not text.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return False


def read_a1111(texts: dict[str, str]) -> Draft:
    text = texts["parameters"]
    params = parse_parameters(text)
    draft = Draft(tool=_tool(params, texts))
    for key, value in params.items():
        if key == "model_hash" and value == "unknown":
            continue  # Krita AI Diffusion's placeholder, not a hash
        if key in FIELDS:
            draft.put(key, value)
        elif key not in ("sampler", "schedule_type", "size"):
            draft.keep(key, value)
    _numbers_that_did_not_parse(text, params, draft)
    _sampler(params, draft)
    for name, weight in _LORA_TAG.findall(str(params.get("prompt", ""))):
        draft.loras.append((name, weight or "1"))
    if draft.tool == "comfyui":
        draft.keep("prompt (ComfyUI graph)", texts["prompt"])
        draft.notes.append("Read from the A1111 text beside ComfyUI's graph.")
    return draft


def _tool(params: dict[str, Any], texts: dict[str, str]) -> str:
    version = str(params.get("version", ""))
    if version.startswith("latentstudio"):
        return "latent-studio"
    if re.match(r"f\d", version) or version in FORGE_FORKS:
        return "forge"
    if texts.get("fooocus_scheme") == "a1111":
        return "fooocus"
    if "prompt" in texts:
        return "comfyui"  # a ComfyUI node that writes A1111 text beside the graph
    if not version and params.get("model_hash") == "unknown":
        return "krita-ai-diffusion"
    return "a1111"


def _sampler(params: dict[str, Any], draft: Draft) -> None:
    """A1111 1.9+ writes the schedule apart ("Sampler: DPM++ 2M, Schedule type: Karras")."""
    name = str(params.get("sampler") or "").strip()
    schedule = str(params.get("schedule_type") or "").strip()
    if schedule:
        draft.put("scheduler", schedule.lower())
    if not name:
        return
    karras = f"{name} Karras"
    if schedule.lower() == "karras" and karras.lower() in KNOWN:
        name = KNOWN[karras.lower()]
    draft.put("sampler", name)


def _numbers_that_did_not_parse(text: str, params: dict[str, Any], draft: Draft) -> None:
    """parse_parameters leaves out a number it cannot read ("Steps: -"): say so, and
    keep the words, rather than lose them silently."""
    for key in _NUMBERS:
        label = {"cfg_scale": "CFG scale", "clip_skip": "Clip skip"}.get(
            key, key.replace("_", " ").capitalize()
        )
        if key not in params and f"{label}:" in text.rsplit("\n", 1)[-1]:
            draft.notes.append(f"{label} is not a number: not used.")
