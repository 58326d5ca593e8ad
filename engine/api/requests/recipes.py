"""Requests as recipe data (the JSON in every image), and back."""

from __future__ import annotations

from typing import Any

from engine.api import families
from engine.api.errors import BadInput
from engine.api.kinds import Task
from engine.api.requests.base import (
    REQUEST_TYPES,
    Request,
)
from engine.api.serialize import from_data


def request_to_dict(request: Request) -> dict[str, Any]:
    """The request as recipe JSON data: its fields plus "type" (the task)."""
    return request.to_dict()


def request_from_dict(data: dict[str, Any]) -> Request:
    """Inverse of request_to_dict; raises BadInput for what this version cannot read."""
    if not isinstance(data, dict):
        raise BadInput("A recipe's request must be an object.")
    try:
        cls = REQUEST_TYPES[Task(data.get("type"))]
    except (ValueError, KeyError):
        raise BadInput(f"Unknown request type in recipe: {data.get('type')!r}.") from None
    fields = {k: v for k, v in data.items() if k != "type"}
    if cls.task is Task.SAMPLE and "options" not in fields:
        fields = _sample_options_as_a_part(fields)
    request = from_data(cls, fields, cls.__name__)
    families.spec_of(request.family)  # a family this version has no package for: a sentence
    return request


# The sample options that recipes written before issue 20 held as the request's own fields.
FLAT_SAMPLE_OPTIONS = ("steps", "label", "guidance", "eta", "latent")


def _sample_options_as_a_part(fields: dict[str, Any]) -> dict[str, Any]:
    """An older sample recipe read as today's: its flat option fields moved into
    "options" (read as the family's class, which ignores the other families' fields)."""
    options = {k: fields[k] for k in FLAT_SAMPLE_OPTIONS if k in fields}
    rest = {k: v for k, v in fields.items() if k not in FLAT_SAMPLE_OPTIONS}
    return {**rest, "options": options}


def request_from_v1(data: dict[str, Any]) -> Request:
    """Read a request as the first version (the walking skeleton) wrote it: flat fields."""
    kind = data.get("type")
    if kind == "txt2img":
        upgraded = {
            "type": "txt2img",
            "model": {"family": "sd", "id": data.get("model", "")},
            "prompt": {
                "positive": data.get("prompt", ""),
                "negative": data.get("negative_prompt", ""),
            },
            "size": {"width": data.get("width", 512), "height": data.get("height", 512)},
            "sampling": {
                "steps": data.get("steps", 20),
                "cfg_scale": data.get("cfg_scale", 7.0),
                "sampler": data.get("sampler"),
                "seed": data.get("seed", 0),
            },
            "batch_size": data.get("batch_size", 1),
        }
    elif kind == "sample":
        upgraded = {
            "type": "sample",
            "model": {"family": "vae", "id": data.get("model", "vae-digits")},
            "seed": data.get("seed", 0),
            "count": data.get("count", 16),
        }
    else:
        raise BadInput(f"Unknown request type in recipe: {kind!r}.")
    return request_from_dict(upgraded)
