"""What a saved image says about itself, in two PNG text chunks.

`latentstudio` holds the JSON recipe: the submitted request unchanged (for a batch its
seed is the batch's first), the image's own seed and batch index, when it was made,
and what the runner reported (model id and sha256, torch/diffusers versions, device,
dtype, parent image). It is enough to make the image again.

`parameters` repeats the essentials in AUTOMATIC1111's text format for other tools;
its `Seed:` is the image's own seed, as A1111 writes it for each image of a batch.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from engine.api.a1111_request import FromParameters, request_from_parameters
from engine.api.errors import BadInput
from engine.api.naming import model_name
from engine.api.outcomes import ResultImage
from engine.api.requests import Request, request_from_dict, request_from_v1, request_to_dict
from engine.store import a1111
from engine.store.png import read_png_text

RECIPE_KEY = "latentstudio"
PARAMETERS_KEY = "parameters"
# 1: the walking skeleton's flat requests; 2: requests built from typed parts.
RECIPE_VERSION = 2
EXTERNAL_KIND = "external"  # a PNG made by another tool, or with no metadata at all

_RESERVED = ("version", "created", "request", "seed", "index")


@dataclass(frozen=True)
class ImageMetadata:
    """Everything read back from one image file, ours or another tool's."""

    path: Path | None  # None for an image that is not in a file (yet)
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

    def from_parameters(self) -> FromParameters | None:
        """Another tool's image: the request its A1111 text describes, with what it cannot
        carry (the source image, the mask) named in `missing`. None for our own images
        (their recipe is `request`) and for images with no text."""
        if self.recipe is not None or not self.parameters_text:
            return None
        return request_from_parameters(self.parameters)

    def reproduce(self) -> tuple[Request | None, str]:
        """The request that makes this picture again, pinned to the precision its recipe
        recorded (whatever this machine's default is now), and a sentence saying so."""
        request, recorded = self.request, recorded_precision(self.recipe or {})
        if not recorded or getattr(request, "precision", None) != "":
            return request, ""
        sentence = f"Precision {recorded} kept, as this picture was made in it."
        return dataclasses.replace(request, precision=recorded), sentence


def recorded_precision(recipe: dict[str, Any]) -> str:
    """The precision a recipe says its picture was computed in; older recipes say only
    the dtype. "" when it says neither."""
    precision = recipe.get("precision") or _PRECISION_OF_DTYPE.get(str(recipe.get("dtype")))
    return precision if precision in ("fp32", "bf16", "fp16") else ""


_PRECISION_OF_DTYPE = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


# ---------------------------------------------------------------- writing


@functools.cache  # reading package metadata parses a file: 3 ms, for every image
def app_version() -> str:
    try:
        return importlib_metadata.version("latent-studio")
    except importlib_metadata.PackageNotFoundError:
        return "dev"  # running from a source checkout


def build_recipe(image: ResultImage, request: Request, created: datetime) -> dict[str, Any]:
    recipe: dict[str, Any] = {
        "version": RECIPE_VERSION,
        "created": created.isoformat(),
        "request": request_to_dict(request),
        "seed": image.seed,
        "index": image.index,
    }
    recipe.update((k, v) for k, v in image.info.items() if k not in _RESERVED)
    return recipe


def build_parameters(image: ResultImage, request: Request) -> str:
    """The A1111 text: the request's own fields, then what every image has.

    "Model hash" is A1111's: the first 10 hex digits of a single file's sha256. A folder
    model has no such hash; our composite one is in the recipe only.
    """
    height, width = np.asarray(image.rgb).shape[:2]
    if getattr(request, "hires", None) is not None:
        # A1111's Size is the first pass's; `Hires upscale` says how much larger it became.
        width, height = request.size.width, request.size.height
    sha256 = image.info.get("model_sha256")
    single_file = image.info.get("model_hash_kind", "file") == "file"
    params: list[tuple[str, object]] = [
        *request.a1111_params(image.info),
        ("Seed", image.seed),
        ("Size", f"{width}x{height}"),
        ("Model hash", sha256[:10] if single_file and isinstance(sha256, str) and sha256 else None),
        ("Model", model_name(str(image.info.get("model") or "")) or None),
        ("Version", f"latentstudio {app_version()}"),
    ]
    params = [(k, a1111.format_number(v) if isinstance(v, float) else v) for k, v in params]
    negative = getattr(getattr(request, "prompt", None), "negative", "")
    return a1111.format_parameters(request.prompt_text, negative, params)


def png_text(image: ResultImage, request: Request, created: datetime) -> dict[str, str]:
    """The text chunks to embed in the PNG of `image`."""
    # allow_nan=False: recipes are standard JSON that any tool can read.
    recipe = json.dumps(
        _finite(build_recipe(image, request, created)), default=_json_default, allow_nan=False
    )
    return {PARAMETERS_KEY: build_parameters(image, request), RECIPE_KEY: recipe}


def _finite(value: Any) -> Any:
    """NaN and infinities (a runner's measurements) become null: JSON has neither."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


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
    return metadata_from_text(text, width, height, path)


def metadata_from_text(
    text: dict[str, str], width: int, height: int, path: Path | None = None
) -> ImageMetadata:
    """What an image's text chunks say (for a file, or an image not saved yet)."""
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
    """The request of a recipe (of any version), or None if this version cannot read it."""
    request = recipe.get("request")
    if not isinstance(request, dict):
        return None
    read = request_from_v1 if recipe.get("version") == 1 else request_from_dict
    try:
        return read(request)
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
    request = parse_recipe_request(recipe)
    fields = recipe.get("request") if isinstance(recipe.get("request"), dict) else {}
    prompt = getattr(request, "prompt", None)
    model = getattr(request, "model", None)
    return ImageMetadata(
        path=base.path,
        width=base.width,
        height=base.height,
        kind=_as_str(fields.get("type")) or "unknown",
        prompt=request.prompt_text if request else "",
        negative_prompt=getattr(prompt, "negative", ""),
        model=_as_str(recipe.get("model")) or (model.id if model is not None else ""),
        seed=_as_int(recipe.get("seed")),
        index=_as_int(recipe.get("index")),
        created=_as_datetime(recipe.get("created")),
        recipe=recipe,
        request=request,
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
    """An integer that fits SQLite's 64 bits, else None (unknown)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _as_datetime(value: Any) -> datetime | None:
    """A recipe's date if it is one a clock can show (1970–9000, with a zone), else None."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            when = when.astimezone()
        stamp = when.timestamp()
        datetime.fromtimestamp(stamp).astimezone()  # representable here too
    except (ValueError, OverflowError, OSError):
        return None
    return when if 0 <= stamp < 221_845_392_000 else None
