"""What a family's samples can be asked for beyond seed and count: a typed part per kind
of model, held by SampleRequest.options. A family's spec names its class: a request is
checked against it, and a recipe writes the fields plainly and is read back as it. The
CLI builds `sample` flags from the fields (each field's metadata["help"] is its help
line), so a GAN's help offers no DDPM flags."""

from __future__ import annotations

from dataclasses import dataclass, field

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
