"""Classifications shared by requests, the registry, the lanes and the GUI."""

from __future__ import annotations

import re
from enum import Enum
from typing import ClassVar


class Task(str, Enum):
    """What a request asks for. Each task has one request class (engine.api.requests)."""

    TXT2IMG = "txt2img"
    SAMPLE = "sample"
    DECODE = "decode"
    TRAIN = "train"
    SCORE = "score"
    UPSCALE = "upscale"
    DESCRIBE = "describe"
    INTERPOLATE = "interpolate"
    DIFFUSE = "diffuse"
    LATENT_WALK = "latent_walk"
    LATENT_AXES = "latent_axes"
    SEED_LATENT = "seed_latent"
    ARITHMETIC = "arithmetic"
    RECONSTRUCT = "reconstruct"
    FORWARD_NOISE = "forward_noise"
    CONTROL_MAP = "control_map"
    COMPONENTS = "components"
    PIXELS = "pixels"
    GIBBS = "gibbs"
    XYZ_PLOT = "xyz_plot"


class Family(str):
    """A family of models: an open key, the id of a package under engine/models/ whose
    `spec` module declares it (engine.api.families). Interned by id, equal to the plain
    string, written to JSON as the string. Any id can be named (a recipe from a newer
    version reads); a request naming a family no spec declares is refused when checked.
    """

    __slots__ = ()
    SD: ClassVar[Family]
    VAE: ClassVar[Family]
    GAN: ClassVar[Family]
    DDPM: ClassVar[Family]
    UPSCALE: ClassVar[Family]

    def __new__(cls, value: object) -> Family:
        if isinstance(value, Family):
            return value
        if not isinstance(value, str) or not _FAMILY_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a model family id")
        known = _INTERNED.get(value)
        if known is None:
            known = _INTERNED.setdefault(value, super().__new__(cls, value))
        return known

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def title(self) -> str:  # type: ignore[override]
        # Loud, not str.title: the title is in the family's spec, read by families.title_of
        # (kinds sits below families, so it cannot ask).
        raise AttributeError("a family's title is engine.api.families.title_of(family)")

    def __repr__(self) -> str:
        return f"Family({self.value!r})"

    def __reduce__(self) -> tuple:
        return (Family, (self.value,))


_FAMILY_ID = re.compile(r"[a-z][a-z0-9_]*")
_INTERNED: dict[str, Family] = {}
Family.SD, Family.VAE, Family.GAN = Family("sd"), Family("vae"), Family("gan")
Family.DDPM, Family.UPSCALE = Family("ddpm"), Family("upscale")


class Lane(str, Enum):
    """Where a job waits and runs; each lane has its own long-lived engine thread.

    INTERACTIVE: short jobs a user waits for with the mouse down (a newer request with
    the same key replaces a pending one). GENERATE: Stable Diffusion and upscaling.
    TRAIN: one training at a time, for minutes, with pause/resume/stop.
    """

    INTERACTIVE = "interactive"
    GENERATE = "generate"
    TRAIN = "train"


class ErrorKind(str, Enum):
    OUT_OF_MEMORY = "out_of_memory"
    BAD_MODEL_FILE = "bad_model_file"
    BAD_INPUT = "bad_input"
    INTERNAL = "internal"
