"""What a family's samples can be asked for beyond seed and count: a typed part per kind
of model, held by SampleRequest.options. A family's spec names its class: a request is
checked against it, and a recipe writes the fields plainly and is read back as it. The
CLI builds `sample` flags from the fields, and the Lab's Sample tab its controls: a
field's metadata gives its "help" line, and may give its "title" and "range" (low,
high) for a control and the "unset" value the details leave out, so a GAN's help offers
no DDPM flags and no family needs GUI code."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from engine.api import limits
from engine.api.errors import BadInput


@dataclass(frozen=True, kw_only=True)
class SampleOptions:
    """No options: samples are drawn from the seed alone."""

    def check(self, count: int) -> None:
        """Raise BadInput for options that cannot be drawn (`count`: the samples asked)."""

    def words(self) -> tuple[str, ...]:
        """What the queue's line for the samples adds ("40 steps", "class 2")."""
        return ()


@dataclass(frozen=True, kw_only=True)
class DiffusionSampleOptions(SampleOptions):
    """A diffusion model's sampler: DDIM steps, the class, guidance and DDIM's eta."""

    steps: int = field(default=50, metadata={"help": "denoising steps (DDIM)"})
    label: int | None = field(
        default=None, metadata={"help": "the class to draw (default: one from each seed)"}
    )
    guidance: float | None = field(
        default=None, metadata={"help": "guidance scale (default: the model's own)"}
    )
    eta: float = field(default=0.0, metadata={"help": "DDIM's eta (0: deterministic)"})

    def check(self, count: int) -> None:
        limits.DIFFUSION_STEPS.check(self.steps)
        if self.guidance is not None:
            limits.GUIDANCE.check(self.guidance)
        limits.ETA.check(self.eta)
        if self.label is not None and self.label < 0:
            raise BadInput(f"The class to draw cannot be negative (got {self.label}).")

    def words(self) -> tuple[str, ...]:
        label = () if self.label is None else (f"class {self.label}",)
        return (f"{self.steps} steps", *label)


@dataclass(frozen=True, kw_only=True)
class LatentSampleOptions(SampleOptions):
    """A latent model (VAE, GAN): draw a kept latent code instead of the seed's."""

    latent: tuple[float, ...] | None = field(
        default=None, metadata={"help": "a latent code to decode instead of the seed's"}
    )

    def check(self, count: int) -> None:
        if self.latent is None:
            return
        if count != 1:
            raise BadInput("A latent code draws one image: the count must be 1.")
        for value in self.latent:  # (not parts.Latents: parts reads the family specs)
            limits.LATENT_VALUE.check(value)


SCALAR_TYPES = (int, float, str)


def scalar_fields(cls: type) -> list[tuple[dataclasses.Field, type]]:
    """The fields of an options class that one number or word carries, with that type (int
    for `int | None`): what the CLI makes flags of and the Lab makes controls of. A kept
    latent code (a tuple) is neither."""
    hints = typing.get_type_hints(cls)
    found = []
    for item in dataclasses.fields(cls):
        kind = _scalar(hints[item.name])
        if kind is not None:
            found.append((item, kind))
    return found


def _scalar(hint: Any) -> type | None:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = options[0] if len(options) == 1 else None
    return hint if hint in SCALAR_TYPES else None
