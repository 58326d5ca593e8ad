"""Requests that explore a latent space: decode codes, walk, find axes, do arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.families import spec_of
from engine.api.kinds import Lane, Task
from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    Outcome,
    VectorsOutcome,
)
from engine.api.parts import ImageRef, Latents
from engine.api.requests.base import (
    INTERPOLATION_MODES,
    LiveRequest,
    ModelRequest,
    image_name,
    require_support,
)


@dataclass(frozen=True, kw_only=True)
class DecodeRequest(LiveRequest):
    """Decode latent vectors to frames (latent sliders): shown, never saved."""

    task: ClassVar[Task] = Task.DECODE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    live_key: ClassVar[str] = "decode"
    outcome: ClassVar[type[Outcome]] = FramesOutcome

    latents: Latents

    def check(self) -> None:
        super().check()
        self.latents.check()

    def describe(self) -> str:
        n = len(self.latents.vectors)
        return f"{self.model.name} · decode {n} latent{'s' if n != 1 else ''}"


@dataclass(frozen=True, kw_only=True)
class InterpolateRequest(ModelRequest):
    """Frames on the path between the latents of two seeds (VAE, GAN). Frame 0 is the
    sample of `from_seed` and the last frame the sample of `to_seed`, pixel for pixel.
    An end may instead be a kept picture's exact code (`from_latent`, `to_latent`: a
    picture kept from the latent sliders), or the code of any image file for a family
    that finds one (`from_image`, `to_image`: a RealNVP's exact code, a VAE's posterior
    mean); its seed then only names it."""

    task: ClassVar[Task] = Task.INTERPOLATE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "explore:walk"

    from_seed: int = 0
    to_seed: int = 1
    frames: int = 16
    mode: str = "slerp"  # or "lerp"
    save: bool = True
    # One strip of all frames in the gallery (its recipe lists each frame's t) instead
    # of one file per frame: the Lab's way.
    grid: bool = False
    from_latent: tuple[float, ...] | None = None
    to_latent: tuple[float, ...] | None = None
    from_image: ImageRef | None = None
    to_image: ImageRef | None = None

    def check(self) -> None:
        require_support(self.model, self.task, "Interpolation")
        self._check_images()
        super().check()
        limits.SEED.check(self.from_seed)
        limits.SEED.check(self.to_seed)
        limits.INTERPOLATION_FRAMES.check(self.frames)
        if self.mode not in INTERPOLATION_MODES:
            raise BadInput(f"Interpolation mode {self.mode!r} is not one of: slerp, lerp.")
        for code in (self.from_latent, self.to_latent):
            if code is not None:
                Latents((code,)).check()

    def _check_images(self) -> None:
        images = [i for i in (self.from_image, self.to_image) if i is not None]
        spec = spec_of(self.model.family)
        if images and not spec.encodes_images:
            raise BadInput(
                f"A {spec.title} has no encoder: it cannot find the code of a picture, so a "
                "walk can only start or end at a seed or a picture kept from its sliders."
            )
        if any(not image.path.strip() for image in images):
            raise BadInput("Choose the image file the walk starts or ends at.")

    def end_names(self) -> tuple[str, str]:
        """How each end is called: "seed 5", "a kept code", or an image's file name."""
        return (
            _end_name(self.from_image, self.from_latent, self.from_seed),
            _end_name(self.to_image, self.to_latent, self.to_seed),
        )

    def describe(self) -> str:
        start, end = self.end_names()
        return f"{self.model.name} · {start} → {end} · {self.frames} frames · {self.mode}"

    @property
    def image_count(self) -> int:
        return 1 if self.grid else self.frames


def _end_name(image: ImageRef | None, code: tuple[float, ...] | None, seed: int) -> str:
    if image is not None:
        return image_name(image.path)
    return "a kept code" if code is not None else f"seed {seed}"


@dataclass(frozen=True, kw_only=True)
class LatentAxesRequest(ModelRequest):
    """A model's latent slider axes (VAE: its dimensions by mean KL over the data; GAN:
    GANSpace's principal directions), each with the known factors it moves. Computed once
    per model file and cached on disk."""

    task: ClassVar[Task] = Task.LATENT_AXES
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = AxesOutcome

    def check(self) -> None:
        require_support(self.model, self.task, "Latent sliders")
        super().check()

    def describe(self) -> str:
        return f"{self.model.name} · finding latent directions"

    @property
    def replace_key(self) -> str | None:
        return f"axes:{self.model.id}"


@dataclass(frozen=True, kw_only=True)
class SeedLatentRequest(LiveRequest):
    """The latent code a seed draws (as SampleRequest draws it): where sliders start."""

    task: ClassVar[Task] = Task.SEED_LATENT
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    live_key: ClassVar[str] = "seed-latent"
    outcome: ClassVar[type[Outcome]] = VectorsOutcome

    seed: int = 0

    def check(self) -> None:
        require_support(self.model, self.task, "A seed's latent code")
        super().check()
        limits.SEED.check(self.seed)

    def describe(self) -> str:
        return f"{self.model.name} · latent code of seed {self.seed}"


@dataclass(frozen=True, kw_only=True)
class ArithmeticRequest(ModelRequest):
    """Latent arithmetic: the samples of seeds a, b and c, and the image of a − b + c
    (VAE: on the encoder's means of the three samples; GAN: on their z). One strip:
    A, B, C, then the result."""

    task: ClassVar[Task] = Task.ARITHMETIC
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "explore:arithmetic"

    a: int = 0
    b: int = 1
    c: int = 2
    save: bool = True
    grid: bool = True

    def check(self) -> None:
        require_support(self.model, self.task, "Latent arithmetic")
        super().check()
        for seed in (self.a, self.b, self.c):
            limits.SEED.check(seed)

    def describe(self) -> str:
        return f"{self.model.name} · seed {self.a} − seed {self.b} + seed {self.c}"

    @property
    def image_count(self) -> int:
        return 1 if self.grid else 4
