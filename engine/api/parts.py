"""Reusable typed parts that requests are built from.

Frozen and hashable (tuples, never lists), so a request can key a cache or be compared
with the recipe read back from an image. Images are referenced by gallery path + sha256,
never embedded as pixels; latent vectors travel as tuples of floats.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.families import spec_of, title_of
from engine.api.kinds import Family
from engine.api.naming import model_name
from engine.api.samplers import SAMPLER_NAMES, SPACINGS
from engine.api.serialize import optional_part

MAX_PROMPT_CHARS = 100_000


def check_text(text: str, what: str) -> None:
    """Refuse text that cannot be written into an image's metadata as it is: a lone
    surrogate (a byte that was not UTF-8 on the command line) or absurd length."""
    for position, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            raise BadInput(
                f"{what} is not valid text: character {position + 1} is a byte that is not "
                "UTF-8. Check your terminal's encoding, or type it again."
            )
    if len(text) > MAX_PROMPT_CHARS:
        raise BadInput(
            f"{what} is {len(text):,} characters long; the most is {MAX_PROMPT_CHARS:,}."
        )


@dataclass(frozen=True)
class ModelRef:
    """A model: a bundled name ("vae-digits"), or the path of a file or folder."""

    family: Family
    id: str

    def check(self) -> None:
        """Refuse an empty choice. Pure: whether the file is there is a local check
        (engine.local_checks), made by the engine where the files are."""
        spec_of(self.family)  # a family this version has (a newer version's recipe may not)
        if not self.id.strip():
            hint = "Settings → Models folders" if self.family is Family.SD else "the Latent Lab"
            raise BadInput(f"Choose a {title_of(self.family)} model first ({hint}).")

    @property
    def name(self) -> str:
        """The id as people say it: a file or folder name without its weights suffix."""
        return model_name(self.id)


@dataclass(frozen=True)
class Prompt:
    positive: str = ""
    negative: str = ""

    def check(self) -> None:
        for name, text in (("prompt", self.positive), ("negative prompt", self.negative)):
            check_text(text, f"The {name}")


@dataclass(frozen=True)
class Size:
    width: int = 512
    height: int = 512

    def check(self, side: limits.Limit = limits.SD_SIDE) -> None:
        for name, value in (("Width", self.width), ("Height", self.height)):
            if value % limits.SIZE_MULTIPLE or value < limits.SIZE_MULTIPLE:
                raise BadInput(
                    f"{name} {value} is not a multiple of {limits.SIZE_MULTIPLE}; "
                    f"the nearest that works is {limits.nearest_multiple(value)}."
                )
            side.check(value)

    def __str__(self) -> str:
        return f"{self.width}×{self.height}"


@dataclass(frozen=True)
class Sampling:
    """How a diffusion model is sampled. `sampler` None: the model's own scheduler."""

    steps: int = 20
    cfg_scale: float = 7.0
    sampler: str | None = None
    seed: int = 0
    # diffusers' timestep_spacing: "" the model's own (engine.api.samplers.SPACINGS).
    spacing: str = optional_part("")

    def check(self) -> None:
        if self.spacing not in SPACINGS:
            raise BadInput(
                f"Timestep spacing {self.spacing!r} is not one of: leading, trailing, linspace."
            )
        limits.SD_STEPS.check(self.steps)
        limits.CFG_SCALE.check(self.cfg_scale)
        limits.SEED.check(self.seed)
        if self.sampler is not None and self.sampler not in SAMPLER_NAMES:
            raise BadInput(
                f"Unknown sampler {self.sampler!r}. Choose one of: {', '.join(SAMPLER_NAMES)}."
            )


@dataclass(frozen=True)
class ImageRef:
    """An image in the gallery (path relative to it, or absolute) and its content hash."""

    path: str
    sha256: str

    def check(self, what: str) -> None:
        """`what` names the image in the sentence: "The source image"."""
        if not self.path.strip():
            raise BadInput(f"{what} is not chosen: choose an image.")
        check_text(self.path, f"{what}'s path")


@dataclass(frozen=True)
class Latents:
    """Latent vectors, one tuple of floats per image."""

    vectors: tuple[tuple[float, ...], ...]

    def check(self, dim: int | None = None) -> None:
        limits.LATENT_VECTORS.check(len(self.vectors))
        for vector in self.vectors:
            if dim is not None and len(vector) != dim:
                raise BadInput(f"This model's latent vectors have {dim} values, not {len(vector)}.")
            for value in vector:
                limits.LATENT_VALUE.check(value)


@dataclass(frozen=True)
class LoraSpec:
    """A LoRA file applied to one job at a weight (the prompt's <lora:NAME:WEIGHT>)."""

    path: str
    weight: float = 1.0

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]

    def check(self) -> None:
        limits.LORA_WEIGHT.check(self.weight)


@dataclass(frozen=True)
class DatasetRef:
    """A bundled data set by name ("digits"), or a folder of the user's images."""

    name: str


@dataclass(frozen=True)
class Training:
    """How long and how to train; 0 (steps, batch size, learning rate) means the preset's."""

    steps: int = 0
    batch_size: int = 0
    learning_rate: float = 0.0
    seed: int = 0
    checkpoint_every: int = 500  # steps between checkpoints written to disk

    def check(self) -> None:
        if self.steps:
            limits.TRAIN_STEPS.check(self.steps)
        if self.batch_size:
            limits.TRAIN_BATCH.check(self.batch_size)
        if self.learning_rate:
            limits.LEARNING_RATE.check(self.learning_rate)
        limits.SEED.check(self.seed)
        limits.TRAIN_STEPS.check(self.checkpoint_every)
