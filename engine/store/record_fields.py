"""What the library searches besides prompt and model: a picture's mode (text, image to
image, inpaint, upscale, Lab), its sampler, the LoRA and embedding names it used, and
which tool made it ("ours" or another tool's name). Read from our recipe, or from the
foreign readers (engine.store.foreign) for other tools' pictures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

OURS = "ours"
UNKNOWN_TOOL = "unknown"

# The modes a `mode:` filter names, and the words users type for each.
MODES = ("text", "img2img", "inpaint", "upscale", "lab", "other")
MODE_WORDS = {
    "text": "text",
    "txt2img": "text",
    "text2img": "text",
    "img2img": "img2img",
    "image2image": "img2img",
    "image-to-image": "img2img",
    "inpaint": "inpaint",
    "outpaint": "inpaint",
    "upscale": "upscale",
    "lab": "lab",
    "other": "other",
}
_LAB_TASKS = {
    "sample",
    "decode",
    "interpolate",
    "diffuse",
    "latent_walk",
    "latent_axes",
    "seed_latent",
    "arithmetic",
    "reconstruct",
    "forward_noise",
    "components",
    "pixels",
    "gibbs",
}


@dataclass(frozen=True)
class LibraryFields:
    mode: str
    sampler: str
    names: str  # LoRA and embedding names, space separated
    source: str  # OURS, a tool's name, or UNKNOWN_TOOL


def fields_of_recipe(recipe: dict[str, Any]) -> LibraryFields:
    request = recipe.get("request") if isinstance(recipe.get("request"), dict) else {}
    sampling = request.get("sampling") if isinstance(request.get("sampling"), dict) else {}
    sampler = sampling.get("sampler") or recipe.get("sampler") or ""
    return LibraryFields(
        mode=mode_of_request(request),
        sampler=sampler if isinstance(sampler, str) else "",
        names=" ".join(_lora_names(request.get("loras")) + _names(request.get("embeddings"))),
        source=OURS,
    )


def fields_of_foreign(path: Path) -> LibraryFields:
    """Another tool's picture, through the foreign readers (which never raise)."""
    from engine.store.foreign import read_picture

    read = read_picture(path)
    sampler = read.fields.get("sampler", "")
    mode = "img2img" if "denoising_strength" in read.fields else "other"
    return LibraryFields(
        mode=mode if read.tool else "other",
        sampler=sampler if isinstance(sampler, str) else "",
        names=" ".join(lora.name for lora in read.loras),
        source=(read.tool or UNKNOWN_TOOL).lower(),
    )


def mode_of_request(request: dict[str, Any]) -> str:
    task = request.get("type")
    if task == "txt2img":
        if request.get("mask") or request.get("outpaint"):
            return "inpaint"
        return "img2img" if request.get("source") else "text"
    if task == "upscale":
        return "upscale"
    return "lab" if task in _LAB_TASKS else "other"


def _lora_names(loras: Any) -> list[str]:
    if not isinstance(loras, list):
        return []
    paths = [x.get("path") for x in loras if isinstance(x, dict)]
    return [_stem(p) for p in paths if isinstance(p, str) and p]


def _names(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [_stem(v) for v in values if isinstance(v, str) and v]


def _stem(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
