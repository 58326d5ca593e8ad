"""Requests: what a job asks the engine for, built from the typed parts in engine.api.parts.

Every request names its `task` and `family` (the registry dispatches on the pair), the
`lane` it runs on and the kind of outcome it returns. It checks itself (`validate`) and
describes itself: a line for the queue, the AUTOMATIC1111 fields of its images, the text
a file name is made from. One generic serializer (engine.api.serialize) writes it into
every image's recipe and reads it back equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from engine.api import limits
from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family, Lane, Task
from engine.api.model_names import check_model_name
from engine.api.naming import shorten
from engine.api.outcomes import (
    AxesOutcome,
    FramesOutcome,
    ImagesOutcome,
    ModelOutcome,
    Outcome,
    VectorsOutcome,
)
from engine.api.parts import (
    DatasetRef,
    ImageRef,
    Latents,
    LoraSpec,
    ModelRef,
    Prompt,
    Sampling,
    Size,
    Training,
    check_text,
)
from engine.api.samplers import a1111_sampler_name
from engine.api.serialize import check_types, from_data, to_data

REQUEST_TYPES: dict[Task, type[Request]] = {}
INTERPOLATION_MODES = ("slerp", "lerp")


@dataclass(frozen=True, kw_only=True)
class Request:
    """Base of every request; subclasses register themselves by their task."""

    task: ClassVar[Task]
    lane: ClassVar[Lane]
    outcome: ClassVar[type[Outcome]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        task = cls.__dict__.get("task")
        if task is not None:
            REQUEST_TYPES[task] = cls

    family: ClassVar[Family]  # overridden per instance by subclasses (a field or a property)

    def validate(self) -> None:
        """Raise BadInput with a sentence the user can act on."""
        check_types(self)
        self.check()

    def check(self) -> None:
        """The request's own rules, once its field types are known to be right."""

    def describe(self) -> str:
        """One line for the queue."""
        return self.task.value

    @property
    def prompt_text(self) -> str:
        return ""

    @property
    def slug_text(self) -> str:
        """What an image's file name is made from."""
        return self.prompt_text

    @property
    def image_count(self) -> int:
        return 0

    @property
    def saves_images(self) -> bool:
        """Whether the runtime writes this job's images to the gallery before Finished:
        what a request's `save` field says; a request without one saves nothing."""
        return bool(getattr(self, "save", False))

    @property
    def replace_key(self) -> str | None:
        """Requests with equal keys replace each other while pending (latent sliders)."""
        return None

    @property
    def listed(self) -> bool:
        """Whether the queue lists this job (a slider's frames come too fast to list)."""
        return True

    def a1111_params(self, info: dict[str, Any]) -> list[tuple[str, object]]:
        """The job-specific `Key: value` pairs of the A1111 parameters line."""
        return []

    def to_dict(self) -> dict[str, Any]:
        return request_to_dict(self)


@dataclass(frozen=True, kw_only=True)
class ModelRequest(Request):
    """A request that runs an existing model."""

    model: ModelRef

    @property
    def family(self) -> Family:  # type: ignore[override]
        return self.model.family

    @property
    def slug_text(self) -> str:
        return self.prompt_text or self.model.name

    def check(self) -> None:
        self.model.check()


@dataclass(frozen=True, kw_only=True)
class LiveRequest(ModelRequest):
    """A small interactive job sent as the user moves a control (a slider, a scrub): a
    newer one for the same model replaces one still waiting, and the queue does not list
    them (they come faster than anyone could read them)."""

    live_key: ClassVar[str]

    @property
    def replace_key(self) -> str | None:
        return f"{self.live_key}:{self.model.id}"

    @property
    def listed(self) -> bool:
        return False


@dataclass(frozen=True, kw_only=True)
class Txt2ImgRequest(ModelRequest):
    """Stable Diffusion text-to-image. Image i of a batch uses seed + i."""

    task: ClassVar[Task] = Task.TXT2IMG
    lane: ClassVar[Lane] = Lane.GENERATE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome

    prompt: Prompt = field(default_factory=Prompt)
    size: Size = field(default_factory=Size)
    sampling: Sampling = field(default_factory=Sampling)
    batch_size: int = 1
    loras: tuple[LoraSpec, ...] = ()
    clip_skip: int = 1  # as A1111 counts: 1 the text encoder's last layer, 2 the one before
    embeddings: tuple[str, ...] = ()  # textual-inversion files the prompt names
    vae: str = ""  # a VAE file used instead of the model's own; "" for the model's
    # What the model predicts when its file does not say (SD 2.x 768 models predict v):
    # "" as the model's config says, "epsilon" or "v".
    prediction: str = ""
    # A1111's variation seed: image i starts from the noise of seed + i moved `strength`
    # of the way (slerp) towards the noise of variation_seed + i. 0: no variation.
    variation_seed: int = 0
    variation_strength: float = 0.0
    save: bool = True

    def check(self) -> None:
        super().check()
        self.prompt.check()
        self.size.check()
        self.sampling.check()
        limits.SD_BATCH.check(self.batch_size)
        limits.CLIP_SKIP.check(self.clip_skip)
        limits.LORAS.check(len(self.loras))
        for lora in self.loras:
            lora.check()
        if self.vae and not Path(self.vae).expanduser().is_file():
            raise BadModelFile(f"The VAE {self.vae} does not exist. Choose another, or none.")
        limits.SEED.check(self.variation_seed)
        limits.VARIATION_STRENGTH.check(self.variation_strength)
        if self.prediction not in ("", "epsilon", "v"):
            raise BadInput(f"Prediction {self.prediction!r} is not one of: epsilon, v.")
        limits.EMBEDDINGS.check(len(self.embeddings))
        for path in self.embeddings:
            if not Path(path).expanduser().is_file():
                raise BadModelFile(f"The embedding {path} does not exist. Check the model folders.")
        if self.sampling.seed + self.batch_size - 1 > limits.SEED.high:
            raise BadInput(
                f"Seed {self.sampling.seed} with a batch of {self.batch_size} would go past "
                f"the largest seed, {limits.SEED.high}. Choose a smaller seed."
            )

    def describe(self) -> str:
        parts = [
            shorten(self.prompt.positive or "(no prompt)", 32),
            str(self.size),
            f"seed {self.sampling.seed}",
            self.sampling.sampler or "model sampler",
        ]
        if self.batch_size > 1:
            parts.append(f"×{self.batch_size}")
        return " · ".join(parts)

    @property
    def prompt_text(self) -> str:
        return self.prompt.positive

    @property
    def image_count(self) -> int:
        return self.batch_size

    def a1111_params(self, info: dict[str, Any]) -> list[tuple[str, object]]:
        chosen = self.sampling.sampler or str(info.get("sampler") or "")
        loras = info.get("lora_hashes") or {}
        embeddings = info.get("embedding_hashes") or {}
        return [
            ("Steps", self.sampling.steps),
            ("Sampler", a1111_sampler_name(chosen) if chosen else None),
            ("CFG scale", self.sampling.cfg_scale),
            ("Clip skip", self.clip_skip if self.clip_skip > 1 else None),
            ("Variation seed", self.variation_seed if self.variation_strength else None),
            ("Variation seed strength", self.variation_strength or None),
            ("VAE hash", info.get("vae_hash")),
            ("VAE", info.get("vae")),
            ("Lora hashes", ", ".join(f"{k}: {v}" for k, v in loras.items()) or None),
            ("TI hashes", ", ".join(f"{k}: {v}" for k, v in embeddings.items()) or None),
        ]


@dataclass(frozen=True, kw_only=True)
class LatentWalkRequest(Txt2ImgRequest):
    """A Stable Diffusion latent walk: frames whose starting noise moves from the noise of
    seed `sampling.seed` to that of `to_seed` (slerp or lerp), and whose prompt moves to
    `to_prompt` when one is given (its embedding, linearly). Everything else is one
    Txt2ImgRequest's. Frame 0 is that request's image; with a sampler that adds no noise
    of its own (all but the ancestral "a" ones), so is the last frame with `to_seed`."""

    task: ClassVar[Task] = Task.LATENT_WALK
    to_seed: int = 1
    to_prompt: str = ""
    frames: int = 8
    mode: str = "slerp"
    grid: bool = False
    sheet_as_strip: ClassVar[bool] = True

    def check(self) -> None:
        super().check()
        limits.SEED.check(self.to_seed)
        limits.INTERPOLATION_FRAMES.check(self.frames)
        if self.batch_size != 1:
            raise BadInput("A latent walk makes one image per frame: set the batch to 1.")
        if self.variation_strength:
            raise BadInput("A latent walk moves the noise itself: set the variation to 0.")
        if self.mode not in INTERPOLATION_MODES:
            raise BadInput(f"Interpolation mode {self.mode!r} is not one of: slerp, lerp.")
        check_text(self.to_prompt, "The second prompt")

    def describe(self) -> str:
        return (
            f"{shorten(self.prompt.positive or '(no prompt)', 24)} · seed "
            f"{self.sampling.seed} → {self.to_seed} · {self.frames} frames"
        )

    @property
    def image_count(self) -> int:
        return 1 if self.grid else self.frames


@dataclass(frozen=True, kw_only=True)
class SampleRequest(ModelRequest):
    """New samples from a classic generative model. Sample i uses seed + i."""

    task: ClassVar[Task] = Task.SAMPLE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome

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
        if self.model.family not in (Family.VAE, Family.GAN):
            raise BadInput(
                f"A latent code can be drawn by a VAE or a GAN, not by a "
                f"{self.model.family.title} model."
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
    picture kept from the latent sliders); its seed then only names it."""

    task: ClassVar[Task] = Task.INTERPOLATE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome

    from_seed: int = 0
    to_seed: int = 1
    frames: int = 16
    mode: str = "slerp"  # or "lerp"
    save: bool = True
    # One strip of all frames in the gallery (its recipe lists each frame's t) instead
    # of one file per frame: the Lab's way.
    grid: bool = False
    sheet_as_strip: ClassVar[bool] = True
    from_latent: tuple[float, ...] | None = None
    to_latent: tuple[float, ...] | None = None

    def check(self) -> None:
        if self.model.family not in (Family.VAE, Family.GAN):
            raise BadInput(
                f"Interpolation walks a VAE's or a GAN's latent space; {self.model.name} is a "
                f"{self.model.family.title} model. Choose a VAE or GAN model."
            )
        super().check()
        limits.SEED.check(self.from_seed)
        limits.SEED.check(self.to_seed)
        limits.INTERPOLATION_FRAMES.check(self.frames)
        if self.mode not in INTERPOLATION_MODES:
            raise BadInput(f"Interpolation mode {self.mode!r} is not one of: slerp, lerp.")
        for code in (self.from_latent, self.to_latent):
            if code is not None:
                Latents((code,)).check()

    def end_names(self) -> tuple[str, str]:
        """How each end is called: "seed 5", or "a kept code" for one given exactly."""
        return (
            "a kept code" if self.from_latent is not None else f"seed {self.from_seed}",
            "a kept code" if self.to_latent is not None else f"seed {self.to_seed}",
        )

    def describe(self) -> str:
        start, end = self.end_names()
        return f"{self.model.name} · {start} → {end} · {self.frames} frames · {self.mode}"

    @property
    def image_count(self) -> int:
        return 1 if self.grid else self.frames


@dataclass(frozen=True, kw_only=True)
class DiffuseRequest(ModelRequest):
    """A DDPM's reverse process watched: a filmstrip of x_t over the predicted x̂_0 at each
    step (at most `columns` of them, evenly chosen, the last always), and the final
    sample, which is `SampleRequest(seed, count=1, steps, label, guidance, eta)`'s."""

    task: ClassVar[Task] = Task.DIFFUSE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome

    seed: int = 0
    steps: int = 50
    eta: float = 0.0
    label: int | None = None
    guidance: float | None = None
    ancestral: bool = False  # DDPM's own sampler: all T steps, fresh noise at each
    columns: int = 25
    save: bool = True

    def check(self) -> None:
        if self.model.family is not Family.DDPM:
            raise BadInput(
                f"The diffusion view runs a DDPM's reverse process; {self.model.name} is a "
                f"{self.model.family.title} model. Choose a DDPM model."
            )
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


def _require_family(model: ModelRef, families: tuple[Family, ...], what: str) -> None:
    if model.family not in families:
        names = " or ".join(f.title for f in families)
        raise BadInput(
            f"{what} needs a {names} model; {model.name} is a {model.family.title} model. "
            f"Choose a {names} model."
        )


@dataclass(frozen=True, kw_only=True)
class LatentAxesRequest(ModelRequest):
    """A model's latent slider axes (VAE: its dimensions by mean KL over the data; GAN:
    GANSpace's principal directions), each with the known factors it moves. Computed once
    per model file and cached on disk."""

    task: ClassVar[Task] = Task.LATENT_AXES
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = AxesOutcome

    def check(self) -> None:
        _require_family(self.model, (Family.VAE, Family.GAN), "Latent sliders")
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
        _require_family(self.model, (Family.VAE, Family.GAN), "A seed's latent code")
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

    a: int = 0
    b: int = 1
    c: int = 2
    save: bool = True
    grid: bool = True
    sheet_as_strip: ClassVar[bool] = True

    def check(self) -> None:
        _require_family(self.model, (Family.VAE, Family.GAN), "Latent arithmetic")
        super().check()
        for seed in (self.a, self.b, self.c):
            limits.SEED.check(seed)

    def describe(self) -> str:
        return f"{self.model.name} · seed {self.a} − seed {self.b} + seed {self.c}"

    @property
    def image_count(self) -> int:
        return 1 if self.grid else 4


@dataclass(frozen=True, kw_only=True)
class ReconstructRequest(ModelRequest):
    """A VAE's reconstruction of an image: the input (resized to the model's size), the
    reconstruction and the per-pixel error side by side, then a map of the latent space
    (the encoded data set's first two principal components) with the image's place."""

    task: ClassVar[Task] = Task.RECONSTRUCT
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome

    image: ImageRef
    save: bool = True

    def check(self) -> None:
        _require_family(self.model, (Family.VAE,), "Reconstruction")
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
        _require_family(self.model, (Family.DDPM,), "The forward process")
        super().check()
        limits.FORWARD_STEP.check(self.t)
        limits.DATA_INDEX.check(self.image_index)
        limits.SEED.check(self.noise_seed)

    def describe(self) -> str:
        return f"{self.model.name} · forward process at t = {self.t}"


@dataclass(frozen=True, kw_only=True)
class TrainRequest(Request):
    """Train a classic model on a data set; the result is a model file."""

    task: ClassVar[Task] = Task.TRAIN
    lane: ClassVar[Lane] = Lane.TRAIN
    outcome: ClassVar[type[Outcome]] = ModelOutcome

    family: Family  # type: ignore[misc]
    preset: str  # the network's shape and default hyper-parameters
    dataset: DatasetRef
    training: Training = field(default_factory=Training)
    output: str  # the .safetensors file to write (its .json goes beside it)
    image_size: int = 0  # 0: the data set's own size
    resume_from: str | None = None  # a .train.safetensors state to continue from

    def check(self) -> None:
        self.training.check()
        if self.image_size not in (0, 8, 16, 32, 64):
            raise BadInput(f"Train on images of 16, 32 or 64 pixels, not {self.image_size}.")
        if not self.output.endswith(".safetensors"):
            raise BadInput(f"Trained models are saved as .safetensors files, not {self.output}.")
        check_model_name(Path(self.output).name.removesuffix(".safetensors"))

    def describe(self) -> str:
        return (
            f"train {self.family.title} on {self.dataset.name} · "
            f"{self.training.steps or 'preset'} steps · seed {self.training.seed}"
        )


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


@dataclass(frozen=True, kw_only=True)
class UpscaleRequest(ModelRequest):
    """Enlarge one image: the model's own pass, then a Lanczos resize to the exact factor.

    `scale` 0 means the model's own factor. `tile` -1 chooses a tile size from the free
    memory, 0 runs the whole image at once. `allow_large`: the user confirmed an image
    larger than limits.UPSCALE_MAX_INPUT_PIXELS.
    """

    task: ClassVar[Task] = Task.UPSCALE
    lane: ClassVar[Lane] = Lane.GENERATE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome

    image: ImageRef
    scale: float = 0.0
    tile: int = -1
    allow_large: bool = False
    save: bool = True

    def check(self) -> None:
        super().check()
        if not self.image.path.strip():
            raise BadInput("Choose an image to upscale.")
        check_text(self.image.path, "The image's path")
        if self.scale:
            limits.UPSCALE_FACTOR.check(self.scale)
        if self.tile not in (-1, 0):
            limits.UPSCALE_TILE.check(self.tile)

    def describe(self) -> str:
        factor = f"×{self.scale:g}" if self.scale else "model's scale"
        return " · ".join([self.model.name, shorten(image_name(self.image.path), 32), factor])

    @property
    def slug_text(self) -> str:
        stem = image_name(self.image.path).rsplit(".", 1)[0]
        return f"{stem} {self.model.name}"

    @property
    def image_count(self) -> int:
        return 1

    def a1111_params(self, info: dict[str, Any]) -> list[tuple[str, object]]:
        # The names A1111's Extras tab writes for its upscalers.
        return [
            ("Postprocess upscale by", info.get("scale") or self.scale or None),
            ("Postprocess upscaler", self.model.name),
        ]


@dataclass(frozen=True, kw_only=True)
class DescribeModelRequest(ModelRequest):
    """What a model file is, found by opening it: for an upscaler, its architecture and
    factor (the picker shows them). The outcome's labels hold the architecture's name,
    its vectors the factor."""

    task: ClassVar[Task] = Task.DESCRIBE
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = VectorsOutcome

    def describe(self) -> str:
        return f"{self.model.name} · what is it"

    @property
    def replace_key(self) -> str | None:
        return f"describe:{self.model.family.value}"  # only the newest pick matters

    @property
    def listed(self) -> bool:
        return False


def image_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------- recipes


def request_to_dict(request: Request) -> dict[str, Any]:
    """The request as recipe JSON data: its fields plus "type" (the task)."""
    return {"type": request.task.value, **to_data(request)}


def request_from_dict(data: dict[str, Any]) -> Request:
    """Inverse of request_to_dict; raises BadInput for what this version cannot read."""
    if not isinstance(data, dict):
        raise BadInput("A recipe's request must be an object.")
    try:
        cls = REQUEST_TYPES[Task(data.get("type"))]
    except (ValueError, KeyError):
        raise BadInput(f"Unknown request type in recipe: {data.get('type')!r}.") from None
    return from_data(cls, {k: v for k, v in data.items() if k != "type"}, cls.__name__)


def request_from_v1(data: dict[str, Any]) -> Request:
    """Read a request as the first version (the walking skeleton) wrote it: flat fields."""
    kind = data.get("type")
    if kind == "txt2img":
        upgraded = {
            "type": "txt2img",
            "model": {"family": "sd", "id": data.get("model", "")},
            "prompt": {
                "positive": data.get("prompt", ""),
                "negative": data.get("negative_prompt", ""),
            },
            "size": {"width": data.get("width", 512), "height": data.get("height", 512)},
            "sampling": {
                "steps": data.get("steps", 20),
                "cfg_scale": data.get("cfg_scale", 7.0),
                "sampler": data.get("sampler"),
                "seed": data.get("seed", 0),
            },
            "batch_size": data.get("batch_size", 1),
        }
    elif kind == "sample":
        upgraded = {
            "type": "sample",
            "model": {"family": "vae", "id": data.get("model", "vae-digits")},
            "seed": data.get("seed", 0),
            "count": data.get("count", 16),
        }
    else:
        raise BadInput(f"Unknown request type in recipe: {kind!r}.")
    return request_from_dict(upgraded)
