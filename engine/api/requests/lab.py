"""Latent Lab requests that draw, watch or measure a classic model."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from engine.api import families, limits
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Lane, Task
from engine.api.outcomes import (
    FramesOutcome,
    ImagesOutcome,
    Outcome,
    VectorsOutcome,
)
from engine.api.parts import ImageRef, ModelRef
from engine.api.requests.base import (
    LiveRequest,
    ModelRequest,
    image_name,
    require_support,
)
from engine.api.sample_options import LatentSampleOptions, SampleOptions
from engine.api.serialize import part_read_as


def _options_class(values: dict[str, Any]) -> type[SampleOptions]:
    """The class a recipe's sample options are read as: the one the model's family names."""
    model = values.get("model")
    if not isinstance(model, ModelRef):
        return SampleOptions
    return families.sample_options_of(model.family)


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
    # A thumbnail for the widget that asked (a Lab timeline row): never saved, never the
    # canvas nor the window's unsaved images.
    preview: bool = False
    # What the family's samples take beyond seed and count, of the class its spec names
    # (a DDPM's sampler settings, a VAE's or GAN's kept latent code). The plain
    # SampleOptions() means the family's defaults and becomes them when the request is
    # made, so one meaning has one form (requests compare equal, recipes are the same).
    options: SampleOptions = part_read_as(SampleOptions(), _options_class)

    def __post_init__(self) -> None:
        if type(self.options) is SampleOptions and isinstance(self.model, ModelRef):
            defaults = families.sample_options_of(self.model.family)()
            object.__setattr__(self, "options", defaults)

    @property
    def shows_own_outcome(self) -> bool:  # type: ignore[override]
        return self.preview

    def check(self) -> None:
        super().check()
        if self.preview and self.save:
            raise BadInput("A sample preview is shown, never saved: ask for save=False.")
        limits.SAMPLE_COUNT.check(self.count)
        self._check_options_class()
        self.options.check(self.count)
        limits.SEED.check(self.seed)
        if self.seed + self.count - 1 > limits.SEED.high:
            raise BadInput(
                f"Seed {self.seed} with {self.count} samples would go past the largest "
                f"seed, {limits.SEED.high}. Choose a smaller seed."
            )

    def _check_options_class(self) -> None:
        given = type(self.options)
        own = families.sample_options_of(self.model.family)
        if given in (own, SampleOptions):
            return
        users = [f for f in families.names() if families.sample_options_of(f) is given]
        whose = f"{families.titles(users)} sample options" if users else "another family's"
        theirs = _field_names(given, " or ") or given.__name__
        mine = _field_names(own, ", ") or "none"
        raise BadInput(
            f"A {title_of(self.model.family)} model takes no {theirs}: those are {whose} "
            f"(its own: {mine})."
        )

    @property
    def latent(self) -> tuple[float, ...] | None:
        """The kept latent code to draw instead of the seed's (VAE, GAN), if any."""
        return self.options.latent if isinstance(self.options, LatentSampleOptions) else None

    def describe(self) -> str:
        if self.latent is not None:
            return f"{self.model.name} · a latent code from seed {self.seed}"
        samples = "sample" if self.count == 1 else "samples"
        parts = [self.model.name, f"{self.count} {samples}", f"seed {self.seed}"]
        return " · ".join([*parts, *self.options.words()])

    @property
    def image_count(self) -> int:
        return 1 if self.grid and self.count > 1 else self.count

    @property
    def reopens_in(self) -> str | None:
        # A latent code kept from the sliders reopens the sliders, not the Sample tab.
        return "explore:sliders" if self.latent is not None else self.reopen_place


def _field_names(cls: type, last: str) -> str:
    """The field names of an options class, the last two joined by `last`."""
    names = [f.name for f in fields(cls)]
    return last.join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


@dataclass(frozen=True, kw_only=True)
class DiffuseRequest(ModelRequest):
    """A DDPM's reverse process watched: a filmstrip of x_t over the predicted x̂_0 at each
    step (at most `columns` of them, evenly chosen, the last always), and the final
    sample, which is `SampleRequest(seed, count=1, options=DiffusionSampleOptions(steps,
    label, guidance, eta))`'s."""

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
class ComponentsRequest(LiveRequest):
    """A mixture's components: each mean as an image with its weight, heaviest first; and,
    given a held-out image of the model's data set by number, p(component | image) for
    each, so the Explore page shows which components explain it. Shown, never saved.

    The outcome's images are the means (info: component, weight, and responsibility when
    an image is given), then that image itself (info: image_index)."""

    task: ClassVar[Task] = Task.COMPONENTS
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    live_key: ClassVar[str] = "components"
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    shows_own_outcome: ClassVar[bool] = True  # the page's grid, never the canvas

    image_index: int | None = None  # which held-out image to explain; None: none

    def check(self) -> None:
        require_support(self.model, self.task, "The components view")
        super().check()
        if self.image_index is not None:
            limits.DATA_INDEX.check(self.image_index)

    def describe(self) -> str:
        which = "" if self.image_index is None else f" · held-out image {self.image_index}"
        return f"{self.model.name} · components{which}"


PIXELS_WHAT = ("draw", "image")  # PixelsRequest.what


@dataclass(frozen=True, kw_only=True)
class PixelsRequest(LiveRequest):
    """An autoregressive model pixel by pixel. Shown, never saved.

    what="draw": the sample of `seed` being drawn, as frames (info: frame, drawn, the
    pixels drawn so far); the last frame is the sample. what="image": held-out image
    `image_index` of the model's data set (info role "image"), its upper half kept and the
    lower half drawn by seeds seed, seed + 1, … ("completion", info seed), and each pixel's
    surprise −log₂ p(pixel | those before it) as a heat map ("surprise", info bits: the
    image's total, pixel_bits: the map's rows, max_bits: the colour scale's top)."""

    task: ClassVar[Task] = Task.PIXELS
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    live_key: ClassVar[str] = "pixels"
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    shows_own_outcome: ClassVar[bool] = True  # the page's player and strip, never the canvas

    what: str = "draw"
    seed: int = 0
    image_index: int = 0
    completions: int = 4

    @property
    def replace_key(self) -> str | None:
        # A drawing and an image's answers are both wanted: neither replaces the other.
        return f"{self.live_key}:{self.what}:{self.model.id}"

    def check(self) -> None:
        require_support(self.model, self.task, "The pixel-by-pixel view")
        super().check()
        if self.what not in PIXELS_WHAT:
            raise BadInput(
                f"The pixel-by-pixel view shows {' or '.join(PIXELS_WHAT)}, not {self.what!r}."
            )
        limits.SEED.check(self.seed)
        limits.DATA_INDEX.check(self.image_index)
        limits.COMPLETIONS.check(self.completions)
        if self.seed + self.completions - 1 > limits.SEED.high:
            raise BadInput(
                f"Seed {self.seed} with {self.completions} completions would go past the "
                f"largest seed, {limits.SEED.high}. Choose a smaller seed."
            )

    def describe(self) -> str:
        if self.what == "draw":
            return f"{self.model.name} · drawing seed {self.seed}"
        return f"{self.model.name} · held-out image {self.image_index}, pixel by pixel"


@dataclass(frozen=True, kw_only=True)
class ScoreRequest(ModelRequest):
    """Measure a classic model's samples with the quality meter (engine.quality)."""

    task: ClassVar[Task] = Task.SCORE
    lane: ClassVar[Lane] = Lane.GENERATE
    outcome: ClassVar[type[Outcome]] = VectorsOutcome

    count: int = 500
    # False: the Lab timeline's measures instead of the meter's (held-out likelihood, the
    # time `count` samples take, parameters, training time; engine.quality.timeline).
    meter: bool = True

    def check(self) -> None:
        super().check()
        limits.SCORE_SAMPLES.check(self.count)

    def describe(self) -> str:
        what = "quality meter" if self.meter else "timeline measures"
        return f"{self.model.name} · {what} · {self.count} samples"


@dataclass(frozen=True, kw_only=True)
class GibbsRequest(LiveRequest):
    """An RBM seen through Gibbs sampling, for the Explore page; shown, never saved.

    The outcome's images (info "part" says which): every hidden unit's weights as an image
    ("filter": unit, norm, weights), strongest first; the visible means of seed's chain
    from random pixels at steps up to `steps` ("chain": step, seed), the last being the
    sample of that seed and chain length; held-out digit `image_index` (if any) binarised
    ("digit"), then completed by `completions` chains (seeds seed, seed + 1, …) with its
    upper half clamped ("completion": seed, clamped_rows)."""

    task: ClassVar[Task] = Task.GIBBS
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    live_key: ClassVar[str] = "gibbs"
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    shows_own_outcome: ClassVar[bool] = True  # the page's filmstrip, never the canvas

    seed: int = 0
    steps: int = 1000
    image_index: int | None = 0  # which held-out digit to complete; None: none
    completions: int = 4

    def check(self) -> None:
        require_support(self.model, self.task, "The Gibbs chain view")
        super().check()
        limits.SEED.check(self.seed)
        limits.GIBBS_STEPS.check(self.steps)
        if self.image_index is not None:
            limits.DATA_INDEX.check(self.image_index)
        limits.COMPLETIONS.check(self.completions)
        limits.SEED.check(self.seed + self.completions - 1)  # the last completion's seed

    def describe(self) -> str:
        which = "" if self.image_index is None else f" · held-out digit {self.image_index}"
        return f"{self.model.name} · Gibbs chain · seed {self.seed} · {self.steps} steps{which}"
