"""Latent Lab requests that draw, watch or measure a classic model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.api import families, limits
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Family, Lane, Task
from engine.api.outcomes import (
    FramesOutcome,
    ImagesOutcome,
    Outcome,
    VectorsOutcome,
)
from engine.api.parts import (
    ImageRef,
    Latents,
)
from engine.api.requests.base import (
    LiveRequest,
    ModelRequest,
    image_name,
    require_support,
)


@dataclass(frozen=True, kw_only=True)
class SampleRequest(ModelRequest):
    """New samples from a classic generative model. Sample i uses seed + i."""

    task: ClassVar[Task] = Task.SAMPLE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "lab"

    seed: int = 0
    count: int = 16
    save: bool = True
    # One sheet of all samples in the gallery (its recipe lists each sample's seed)
    # instead of one file per sample: the Lab's way, so a click is one thumbnail.
    grid: bool = False
    # Diffusion models only: denoising steps (DDIM), the class to draw (None: one drawn
    # from each sample's seed), classifier-free guidance scale (None: the model's own
    # recommendation), and DDIM's eta.
    steps: int = 50
    label: int | None = None
    guidance: float | None = None
    eta: float = 0.0
    # VAE and GAN: draw this latent code instead of the seed's (an image kept from the
    # latent sliders: its recipe holds the code, which reproduces it exactly).
    latent: tuple[float, ...] | None = None

    def check(self) -> None:
        super().check()
        limits.SAMPLE_COUNT.check(self.count)
        if self.latent is not None:
            self._check_latent()
        limits.DIFFUSION_STEPS.check(self.steps)
        if self.guidance is not None:
            limits.GUIDANCE.check(self.guidance)
        limits.ETA.check(self.eta)
        if self.label is not None and self.label < 0:
            raise BadInput(f"The class to draw cannot be negative (got {self.label}).")
        limits.SEED.check(self.seed)
        if self.seed + self.count - 1 > limits.SEED.high:
            raise BadInput(
                f"Seed {self.seed} with {self.count} samples would go past the largest "
                f"seed, {limits.SEED.high}. Choose a smaller seed."
            )

    def _check_latent(self) -> None:
        if not families.supports(self.model.family, Task.DECODE):
            able = " or a ".join(title_of(f) for f in families.families_for(Task.DECODE))
            raise BadInput(
                f"A latent code can be drawn by a {able} model, not by a "
                f"{title_of(self.model.family)} model."
            )
        if self.count != 1:
            raise BadInput("A latent code draws one image: the count must be 1.")
        Latents((self.latent,)).check()

    def describe(self) -> str:
        if self.latent is not None:
            return f"{self.model.name} · a latent code from seed {self.seed}"
        samples = "sample" if self.count == 1 else "samples"
        parts = [self.model.name, f"{self.count} {samples}", f"seed {self.seed}"]
        if self.model.family is Family.DDPM:
            parts.append(f"{self.steps} steps")
            if self.label is not None:
                parts.append(f"class {self.label}")
        return " · ".join(parts)

    @property
    def image_count(self) -> int:
        return 1 if self.grid and self.count > 1 else self.count

    @property
    def reopens_in(self) -> str | None:
        # A latent code kept from the sliders reopens the sliders, not the Sample tab.
        return "explore:sliders" if self.latent is not None else self.reopen_place


@dataclass(frozen=True, kw_only=True)
class DiffuseRequest(ModelRequest):
    """A DDPM's reverse process watched: a filmstrip of x_t over the predicted x̂_0 at each
    step (at most `columns` of them, evenly chosen, the last always), and the final
    sample, which is `SampleRequest(seed, count=1, steps, label, guidance, eta)`'s."""

    task: ClassVar[Task] = Task.DIFFUSE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "explore:reverse"

    seed: int = 0
    steps: int = 50
    eta: float = 0.0
    label: int | None = None
    guidance: float | None = None
    ancestral: bool = False  # DDPM's own sampler: all T steps, fresh noise at each
    columns: int = 25
    save: bool = True

    def check(self) -> None:
        require_support(self.model, self.task, "The diffusion view")
        super().check()
        limits.SEED.check(self.seed)
        limits.DIFFUSION_STEPS.check(self.steps)
        limits.ETA.check(self.eta)
        limits.FILMSTRIP_COLUMNS.check(self.columns)
        if self.guidance is not None:
            limits.GUIDANCE.check(self.guidance)
        if self.label is not None and self.label < 0:
            raise BadInput(f"The class to draw cannot be negative (got {self.label}).")

    def describe(self) -> str:
        how = "ancestral DDPM" if self.ancestral else f"DDIM {self.steps} steps"
        return f"{self.model.name} · reverse process · seed {self.seed} · {how}"

    @property
    def image_count(self) -> int:
        return 2


@dataclass(frozen=True, kw_only=True)
class ReconstructRequest(ModelRequest):
    """A VAE's reconstruction of an image: the input (resized to the model's size), the
    reconstruction and the per-pixel error side by side, then a map of the latent space
    (the encoded data set's first two principal components) with the image's place."""

    task: ClassVar[Task] = Task.RECONSTRUCT
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "explore:reconstruct"

    image: ImageRef
    save: bool = True

    def check(self) -> None:
        require_support(self.model, self.task, "Reconstruction")
        super().check()
        if not self.image.path.strip():
            raise BadInput("Choose an image to reconstruct.")

    def describe(self) -> str:
        return f"{self.model.name} · reconstruct {image_name(self.image.path)}"

    @property
    def image_count(self) -> int:
        return 2


@dataclass(frozen=True, kw_only=True)
class ForwardNoiseRequest(LiveRequest):
    """One frame of a DDPM's forward process q(x_t | x_0): a data-set image (or a file)
    noised to step t with the noise of `noise_seed`. Shown while scrubbing, never saved."""

    task: ClassVar[Task] = Task.FORWARD_NOISE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    live_key: ClassVar[str] = "forward"
    outcome: ClassVar[type[Outcome]] = FramesOutcome

    t: int = 0  # 0: the clean image; T: (almost) pure noise
    image_index: int = 0  # which image of the model's data set
    image: ImageRef | None = None  # a file instead
    noise_seed: int = 0

    def check(self) -> None:
        require_support(self.model, self.task, "The forward process")
        super().check()
        limits.FORWARD_STEP.check(self.t)
        limits.DATA_INDEX.check(self.image_index)
        limits.SEED.check(self.noise_seed)

    def describe(self) -> str:
        return f"{self.model.name} · forward process at t = {self.t}"


@dataclass(frozen=True, kw_only=True)
class ScoreRequest(ModelRequest):
    """Measure a classic model's samples with the quality meter (engine.quality)."""

    task: ClassVar[Task] = Task.SCORE
    lane: ClassVar[Lane] = Lane.GENERATE
    outcome: ClassVar[type[Outcome]] = VectorsOutcome

    count: int = 500

    def check(self) -> None:
        super().check()
        limits.SCORE_SAMPLES.check(self.count)

    def describe(self) -> str:
        return f"{self.model.name} · quality meter · {self.count} samples"
