"""What a saved image says about itself, in two PNG text chunks.

`latentstudio` holds the JSON recipe: the submitted request unchanged (for a batch its
seed is the batch's first), the image's own seed and batch index, when it was made,
and what the runner reported (model id and sha256, torch/diffusers versions, device,
dtype, parent image). It is enough to make the image again.

`parameters` repeats the essentials in AUTOMATIC1111's text format for other tools;
its `Seed:` is the image's own seed, as A1111 writes it for each image of a batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import BadInput
from engine.jobs import GeneratedImage, Request, request_from_recipe
from engine.store import a1111
from engine.store.layout import model_name
from engine.store.png import read_png_text

RECIPE_KEY = "latentstudio"
PARAMETERS_KEY = "parameters"
RECIPE_VERSION = 1
EXTERNAL_KIND = "external"  # a PNG made by another tool, or with no metadata at all

_RESERVED = ("version", "created", "request", "seed", "index")

# A request's sampler is already an A1111 name and is written as given. For "the model's
# own scheduler" the runner reports the diffusers class, written as A1111 would name it.
_SAMPLERS: dict[str, tuple[str, str | None]] = {
    "EulerDiscreteScheduler": ("Euler", None),
    "EulerAncestralDiscreteScheduler": ("Euler a", None),
    "HeunDiscreteScheduler": ("Heun", None),
    "LMSDiscreteScheduler": ("LMS", None),
    "KDPM2DiscreteScheduler": ("DPM2", None),
    "KDPM2AncestralDiscreteScheduler": ("DPM2 a", None),
    "DPMSolverMultistepScheduler": ("DPM++ 2M", None),
    "DDIMScheduler": ("DDIM", None),
    "PNDMScheduler": ("PLMS", None),
    "UniPCMultistepScheduler": ("UniPC", None),
    "LCMScheduler": ("LCM", None),
}


@dataclass(frozen=True)
class ImageMetadata:
    """Everything read back from one image file, ours or another tool's."""

    path: Path
    width: int
    height: int
    kind: str  # the request kind for our images, EXTERNAL_KIND otherwise
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    seed: int | None = None
    index: int | None = None  # position in its batch
    created: datetime | None = None
    recipe: dict[str, Any] | None = None  # our JSON recipe, None for other tools' files
    request: Request | None = None  # None when the recipe names a request we don't know
    parameters: dict[str, Any] = field(default_factory=dict)  # parsed A1111 text
    parameters_text: str | None = None


# ---------------------------------------------------------------- writing


def app_version() -> str:
    try:
        return importlib_metadata.version("latent-studio")
    except importlib_metadata.PackageNotFoundError:
        return "dev"  # running from a source checkout


def build_recipe(image: GeneratedImage, request: Request, created: datetime) -> dict[str, Any]:
    recipe: dict[str, Any] = {
        "version": RECIPE_VERSION,
        "created": created.isoformat(),
        "request": request.to_recipe(),
        "seed": image.seed,
        "index": image.index,
    }
    recipe.update((k, v) for k, v in image.info.items() if k not in _RESERVED)
    return recipe


def build_parameters(image: GeneratedImage, request: Request) -> str:
    height, width = np.asarray(image.rgb).shape[:2]
    sampler, schedule = _sampler_names(request, image.info)
    sha256 = image.info.get("model_sha256")
    steps = getattr(request, "steps", None)
    cfg_scale = getattr(request, "cfg_scale", None)
    params: list[tuple[str, object]] = [
        ("Steps", steps),
        ("Sampler", sampler),
        ("Schedule type", schedule),
        ("CFG scale", None if cfg_scale is None else a1111.format_number(cfg_scale)),
        ("Seed", image.seed),
        ("Size", f"{width}x{height}"),
        ("Model hash", sha256[:10] if isinstance(sha256, str) and sha256 else None),
        ("Model", model_name(_model_id(image, request)) or None),
        ("Version", f"latentstudio {app_version()}"),
    ]
    prompt = str(getattr(request, "prompt", "") or "")
    negative = str(getattr(request, "negative_prompt", "") or "")
    return a1111.format_parameters(prompt, negative, params)


def png_text(image: GeneratedImage, request: Request, created: datetime) -> dict[str, str]:
    """The text chunks to embed in the PNG of `image`."""
    recipe = json.dumps(build_recipe(image, request, created), default=_json_default)
    return {PARAMETERS_KEY: build_parameters(image, request), RECIPE_KEY: recipe}


def _model_id(image: GeneratedImage, request: Request) -> str:
    return str(image.info.get("model") or getattr(request, "model", "") or "")


def _sampler_names(request: Request, info: dict[str, Any]) -> tuple[str | None, str | None]:
    if not hasattr(request, "sampler"):
        return None, None
    chosen = getattr(request, "sampler", None) or info.get("sampler")
    if not chosen:
        return None, None
    name, schedule = _SAMPLERS.get(str(chosen), (str(chosen), None))
    return name, schedule or info.get("schedule_type")


def _json_default(value: Any) -> Any:
    # Runners may report numpy scalars, paths or enums in `info`; keep them readable.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


# ---------------------------------------------------------------- reading


def read_metadata(path: Path) -> ImageMetadata:
    """Read an image's metadata: our recipe if present, else A1111 `parameters`.

    Raises OSError if the file cannot be opened, ValueError if it is not an image.
    """
    path = Path(path)
    text, (width, height) = read_png_text(path)
    parameters_text = text.get(PARAMETERS_KEY)
    parameters = a1111.parse_parameters(parameters_text) if parameters_text else {}
    base = ImageMetadata(
        path=path,
        width=width,
        height=height,
        kind=EXTERNAL_KIND,
        parameters=parameters,
        parameters_text=parameters_text,
    )
    recipe = _load_recipe(text.get(RECIPE_KEY))
    return _from_recipe(base, recipe) if recipe else _from_parameters(base, parameters)


def parse_recipe_request(recipe: dict[str, Any]) -> Request | None:
    """The request of a recipe, or None if this version does not know it."""
    request = recipe.get("request")
    if not isinstance(request, dict):
        return None
    try:
        return request_from_recipe(request)
    except (BadInput, TypeError, ValueError):
        return None


def _load_recipe(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        recipe = json.loads(raw)
    except ValueError:
        return None  # damaged chunk: fall back to `parameters`
    return recipe if isinstance(recipe, dict) else None


def _from_recipe(base: ImageMetadata, recipe: dict[str, Any]) -> ImageMetadata:
    fields = recipe.get("request") if isinstance(recipe.get("request"), dict) else {}
    return ImageMetadata(
        path=base.path,
        width=base.width,
        height=base.height,
        kind=_as_str(fields.get("type")) or "unknown",
        prompt=_as_str(fields.get("prompt")),
        negative_prompt=_as_str(fields.get("negative_prompt")),
        model=_as_str(recipe.get("model")) or _as_str(fields.get("model")),
        seed=_as_int(recipe.get("seed")),
        index=_as_int(recipe.get("index")),
        created=_as_datetime(recipe.get("created")),
        recipe=recipe,
        request=parse_recipe_request(recipe),
        parameters=base.parameters,
        parameters_text=base.parameters_text,
    )


def _from_parameters(base: ImageMetadata, parameters: dict[str, Any]) -> ImageMetadata:
    return ImageMetadata(
        path=base.path,
        width=base.width,
        height=base.height,
        kind=EXTERNAL_KIND,
        prompt=_as_str(parameters.get("prompt")),
        negative_prompt=_as_str(parameters.get("negative_prompt")),
        model=_as_str(parameters.get("model")),
        seed=_as_int(parameters.get("seed")),
        parameters=parameters,
        parameters_text=base.parameters_text,
    )


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
