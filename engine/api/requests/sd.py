"""Stable Diffusion requests: text to image, and a latent walk between two seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.api import limits
from engine.api.a1111_control import control_params
from engine.api.a1111_parts import parts_params
from engine.api.errors import BadInput
from engine.api.image_parts import ControlUnit, Hires, IpAdapter, Mask, Outpaint, SourceImage
from engine.api.kinds import Lane, Task
from engine.api.naming import shorten
from engine.api.outcomes import (
    ImagesOutcome,
    Outcome,
)
from engine.api.parts import (
    LoraSpec,
    Prompt,
    Sampling,
    Size,
    check_text,
)
from engine.api.requests.base import (
    INTERPOLATION_MODES,
    ModelRequest,
)
from engine.api.samplers import a1111_sampler_name
from engine.api.schedule_types import a1111_sampler_and_schedule
from engine.api.serialize import optional_part

PINNABLE_PRECISIONS = ("", "fp32", "bf16", "fp16")  # engine.cpu_path.DTYPES' names


@dataclass(frozen=True, kw_only=True)
class Txt2ImgRequest(ModelRequest):
    """Stable Diffusion: text to image, and with its optional parts (engine.api.image_parts)
    image to image (`source`), inpainting (`source` and `mask`), ControlNet (`control`)
    and a hires pass (`hires`). Image i of a batch uses seed + i. The task keeps its
    name, "txt2img", which every recipe written so far carries."""

    task: ClassVar[Task] = Task.TXT2IMG
    lane: ClassVar[Lane] = Lane.GENERATE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    reopen_place: ClassVar[str | None] = "create"

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
    # The prompt as written, wildcards and all, when `prompt` is what they chose for this
    # seed (engine.batch.wildcards); "" when the prompt had none.
    prompt_template: str = optional_part("")
    # The same for the negative prompt ("" when it had none).
    negative_template: str = optional_part("")
    # A tiny autoencoder (TAESD) file or folder: it decodes the live previews, and with
    # fast_decode the final picture too (faster, less fine detail). "" for none.
    tiny_vae: str = optional_part("")
    fast_decode: bool = optional_part(False)
    # The numbers to compute in when re-making a picture: the precision its recipe
    # recorded ("fp32", "bf16", "fp16"). "" for this machine's own path (Settings).
    precision: str = optional_part("")
    # The optional parts: written into a recipe only when set.
    source: SourceImage | None = optional_part()
    mask: Mask | None = optional_part()
    outpaint: Outpaint | None = optional_part()
    control: tuple[ControlUnit, ...] = optional_part(())
    ip_adapters: tuple[IpAdapter, ...] = optional_part(())
    hires: Hires | None = optional_part()

    def check(self) -> None:
        super().check()
        self.prompt.check()
        check_text(self.prompt_template, "The prompt template")
        check_text(self.negative_template, "The negative prompt template")
        self.size.check()
        self.sampling.check()
        limits.SD_BATCH.check(self.batch_size)
        limits.CLIP_SKIP.check(self.clip_skip)
        limits.LORAS.check(len(self.loras))
        for lora in self.loras:
            lora.check()
        limits.SEED.check(self.variation_seed)
        limits.VARIATION_STRENGTH.check(self.variation_strength)
        if self.prediction not in ("", "epsilon", "v"):
            raise BadInput(f"Prediction {self.prediction!r} is not one of: epsilon, v.")
        limits.EMBEDDINGS.check(len(self.embeddings))
        self._check_parts()
        self._check_fast_decode()
        if self.precision not in PINNABLE_PRECISIONS:
            raise BadInput(f"Precision {self.precision!r} is not one of: fp32, bf16, fp16.")
        if self.sampling.seed + self.batch_size - 1 > limits.SEED.high:
            raise BadInput(
                f"Seed {self.sampling.seed} with a batch of {self.batch_size} would go past "
                f"the largest seed, {limits.SEED.high}. Choose a smaller seed."
            )

    def _check_fast_decode(self) -> None:
        if not self.fast_decode:
            return
        if not self.tiny_vae:
            raise BadInput(
                "The fast final decode needs a tiny autoencoder (TAESD) file: choose one, "
                "or turn the fast decode off."
            )
        if self.source is not None or self.hires is not None:
            raise BadInput(
                "The fast final decode is for text to image; image to image and hires fix "
                "encode pictures, which needs the model's own VAE. Turn the fast decode off."
            )

    def _check_parts(self) -> None:
        for part in (self.source, self.mask, self.outpaint, self.hires):
            if part is not None:
                part.check()
        if self.mask is not None and self.source is None:
            raise BadInput("A mask says where to repaint a source image: choose the image too.")
        if self.outpaint is not None and self.source is None:
            raise BadInput("Outpaint extends a source image: choose the image too.")
        if self.hires is not None and self.source is not None:
            raise BadInput(
                "Hires fix is a second pass for text to image; with a source image, set "
                "the size you want and the strength instead."
            )
        limits.CONTROL_UNITS.check(len(self.control))
        for unit in self.control:
            unit.check()
        limits.IP_ADAPTERS.check(len(self.ip_adapters))
        for adapter in self.ip_adapters:
            adapter.check()

    @property
    def has_parts(self) -> bool:
        """Whether any optional part is set (a plain text-to-image request has none)."""
        return bool(
            self.source
            or self.mask
            or self.outpaint
            or self.control
            or self.ip_adapters
            or self.hires
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
        if how := self._how_drawn():
            parts.insert(1, how)
        return " · ".join(parts)

    def _how_drawn(self) -> str:
        """What the queue says of a job that is not plain text to image."""
        if self.hires is not None:
            return f"hires ×{self.hires.scale:g}"
        if self.source is None:
            return ""
        kind = "outpaint" if self.outpaint else "inpaint" if self.mask else "img2img"
        return f"{kind} {self.source.strength:g}"

    @property
    def prompt_text(self) -> str:
        return self.prompt.positive

    @property
    def image_count(self) -> int:
        return self.batch_size

    def a1111_params(self, info: dict[str, Any]) -> list[tuple[str, object]]:
        chosen = self.sampling.sampler or str(info.get("sampler") or "")
        sampler, schedule = a1111_sampler_and_schedule(
            a1111_sampler_name(chosen), self.sampling.spacing
        )
        loras = info.get("lora_hashes") or {}
        embeddings = info.get("embedding_hashes") or {}
        return [
            ("Steps", self.sampling.steps),
            ("Sampler", sampler or None),
            ("Schedule type", schedule),  # A1111 1.9+: "DPM++ 2M" and "Karras" apart
            ("CFG scale", self.sampling.cfg_scale),
            ("Clip skip", self.clip_skip if self.clip_skip > 1 else None),
            ("Variation seed", self.variation_seed if self.variation_strength else None),
            ("Variation seed strength", self.variation_strength or None),
            ("VAE hash", info.get("vae_hash")),
            ("VAE", info.get("vae")),
            ("Lora hashes", ", ".join(f"{k}: {v}" for k, v in loras.items()) or None),
            ("TI hashes", ", ".join(f"{k}: {v}" for k, v in embeddings.items()) or None),
            # As sd-dynamic-prompts writes them: the wildcards as typed ("" without).
            ("Template", self.prompt_template or None),
            ("Negative Template", self.negative_template or None),
            *parts_params(self),  # all None without parts: old recipes' text is unchanged
            *control_params(self, info.get("control_hashes") or {}),  # [] without control
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
    grid: bool = False  # one strip of all frames (the runner declares it)

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
        if self.has_parts:
            raise BadInput(
                "A latent walk starts from noise alone: clear the source image, mask, "
                "control units and hires pass."
            )

    def describe(self) -> str:
        return (
            f"{shorten(self.prompt.positive or '(no prompt)', 24)} · seed "
            f"{self.sampling.seed} → {self.to_seed} · {self.frames} frames"
        )

    @property
    def image_count(self) -> int:
        return 1 if self.grid else self.frames
