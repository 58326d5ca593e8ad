"""Every request and every event that crosses between the GUI and the engine.

Plain frozen dataclasses (stdlib + numpy only), so the GUI can build requests and read
events without importing torch. A request knows how to check itself and how to turn
into the JSON recipe embedded in every image it produces.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from engine.errors import BadInput

SEED_MAX = 2**32 - 1

# Sampler names as AUTOMATIC1111 writes them (so recipes read the same in other tools);
# engine.models.samplers maps each to a diffusers scheduler.
SAMPLER_NAMES: tuple[str, ...] = (
    "Euler",
    "Euler a",
    "DPM++ 2M",
    "DPM++ 2M Karras",
    "DDIM",
    "UniPC",
    "DPM++ 2M SDE",
    "DPM++ 2M SDE Karras",
    "DPM++ SDE",
    "DPM++ SDE Karras",
    "DPM2",
    "DPM2 Karras",
    "DPM2 a",
    "DPM2 a Karras",
    "Heun",
    "LMS",
    "LMS Karras",
    "PLMS",
)
SIZE_MULTIPLE = 8


def random_seed() -> int:
    return random.randint(0, SEED_MAX)


def nearest_multiple(value: int, multiple: int = SIZE_MULTIPLE) -> int:
    """The closest multiple, halves rounding up (500 -> 504), never below one multiple."""
    return max(multiple, (value + multiple // 2) // multiple * multiple)


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """Base of every request. `kind` names it in recipes and on the command line."""

    kind: ClassVar[str] = "request"

    def validate(self) -> None:
        """Raise BadInput with a sentence the user can act on."""

    def to_recipe(self) -> dict[str, Any]:
        return {"type": self.kind, **dataclasses.asdict(self)}

    @property
    def image_count(self) -> int:
        return 1


@dataclass(frozen=True)
class Txt2ImgRequest(Request):
    """Stable Diffusion text-to-image. Image i of a batch uses seed + i."""

    kind: ClassVar[str] = "txt2img"

    model: str
    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    steps: int = 20
    cfg_scale: float = 7.0
    seed: int = 0
    sampler: str | None = None  # None: the model's own scheduler
    batch_size: int = 1

    def validate(self) -> None:
        if not self.model:
            raise BadInput("Choose a Stable Diffusion model first (Settings → Models folder).")
        for name, value in (("Width", self.width), ("Height", self.height)):
            if value < SIZE_MULTIPLE or value % SIZE_MULTIPLE:
                raise BadInput(
                    f"{name} {value} is not a multiple of {SIZE_MULTIPLE}; "
                    f"the nearest that works is {nearest_multiple(value)}."
                )
        if not 1 <= self.steps <= 1000:
            raise BadInput(f"Steps must be between 1 and 1000 (got {self.steps}).")
        if not 1 <= self.batch_size <= 64:
            raise BadInput(f"Batch size must be between 1 and 64 (got {self.batch_size}).")
        if not 0 <= self.seed <= SEED_MAX:
            raise BadInput(f"Seed must be between 0 and {SEED_MAX} (got {self.seed}).")
        if self.cfg_scale < 0:
            raise BadInput(f"CFG scale cannot be negative (got {self.cfg_scale}).")

    @property
    def image_count(self) -> int:
        return self.batch_size


@dataclass(frozen=True)
class SampleRequest(Request):
    """Draw new samples from a classic generative model (VAE, later GAN/DDPM).

    Sample i uses seed + i, so each one can be drawn again on its own.
    """

    kind: ClassVar[str] = "sample"

    model: str = "vae-digits"
    seed: int = 0
    count: int = 16

    def validate(self) -> None:
        if not 1 <= self.count <= 1024:
            raise BadInput(f"Count must be between 1 and 1024 (got {self.count}).")
        if not 0 <= self.seed <= SEED_MAX:
            raise BadInput(f"Seed must be between 0 and {SEED_MAX} (got {self.seed}).")

    @property
    def image_count(self) -> int:
        return self.count


REQUEST_TYPES: dict[str, type[Request]] = {cls.kind: cls for cls in (Txt2ImgRequest, SampleRequest)}


def request_from_recipe(recipe: dict[str, Any]) -> Request:
    """Inverse of Request.to_recipe; unknown keys (from newer versions) are ignored."""
    try:
        cls = REQUEST_TYPES[recipe["type"]]
    except KeyError as exc:
        raise BadInput(f"Unknown request type in recipe: {recipe.get('type')!r}.") from exc
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in recipe.items() if k in names})


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class GeneratedImage:
    """What a runner hands back: pixels plus what the store needs to describe them."""

    rgb: np.ndarray  # HxWx3 uint8
    seed: int
    index: int  # position in the batch
    info: dict[str, Any] = field(default_factory=dict)  # model id/sha256, device, dtype, ...


@dataclass(frozen=True)
class ResultImage:
    """One image of a finished job. `path` is None when saving failed (see save_error)."""

    rgb: np.ndarray
    seed: int
    width: int
    height: int
    path: str | None = None
    save_error: str | None = None
    # The PNG text chunks (parameters + recipe) of an image that could not be saved, so
    # "Save Image As…" can still write it with its full recipe.
    png_text: dict[str, str] = field(default_factory=dict)

    def json_line(self) -> str:
        """What the command line prints for each image written."""
        fields = {"path": self.path, "seed": self.seed, "width": self.width, "height": self.height}
        return json.dumps(fields)


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    job_id: int


@dataclass(frozen=True)
class Queued(Event):
    request: Request


@dataclass(frozen=True)
class Started(Event):
    request: Request


@dataclass(frozen=True)
class Progress(Event):
    step: int
    total: int
    eta_s: float | None = None
    it_per_s: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Preview(Event):
    rgb: np.ndarray  # HxWx3 uint8, a copy owned by the receiver


@dataclass(frozen=True)
class Finished(Event):
    results: tuple[ResultImage, ...]


@dataclass(frozen=True)
class Cancelled(Event):
    pass


@dataclass(frozen=True)
class Failed(Event):
    message: str
    kind: str = "internal"  # out_of_memory | bad_model_file | bad_input | internal


@dataclass(frozen=True)
class DeviceInfo:
    device: str  # "cuda", "mps", "cpu"
    dtype: str  # "float16", "float32"
    description: str  # for the status bar: "CUDA · RTX 4090 · fp16"
