"""Create's state: what the form says, the requests it makes, and what it remembers.

The panel (gui/create_panel.py) binds its widgets to these fields; everything else here
is plain logic, tested without widgets. The model list itself stays the panel's (it comes
from a scan of the folders); the library entries arrive with `set_library` so the LoRA
tags and embedding names of a prompt resolve without reading the disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.api.a1111_request import request_from_parameters
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.limits import SIZE_MULTIPLE, nearest_multiple
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests import INTERPOLATION_MODES, LatentWalkRequest, Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from engine.batch.wildcard_check import check_wildcards
from engine.batch.wildcard_requests import (
    chosen_for_seed,
    picture_requests,
    uses_wildcards,
    with_networks,
)
from engine.library.detect import SdFamily
from engine.library.few_step import FewStepMatch
from engine.library.prompt_refs import embeddings_named, resolve_lora_tags
from engine.library.scan import LibraryEntry
from gui.viewmodels.control import ControlViewModel
from gui.viewmodels.fast import FastViewModel, differs, suggestion
from gui.viewmodels.fields import FormModel, resolve_seed, seed_text, text
from gui.viewmodels.source import SourceViewModel, size_note

MODEL_DEFAULT_SAMPLER = "Model default"
SAMPLERS = (MODEL_DEFAULT_SAMPLER, *SAMPLER_NAMES)


class CreateViewModel(FormModel):
    def __init__(self) -> None:
        super().__init__()
        self.model = self.field("", text)  # the checkpoint's path ("" for none)
        self.prompt = self.field("", text)
        self.negative = self.field("", text)
        self.width = self.field(512, int)
        self.height = self.field(512, int)
        self.steps = self.field(20, int)
        self.cfg = self.field(7.0, float)
        self.sampler = self.field(MODEL_DEFAULT_SAMPLER, text)
        self.seed = self.field("", text)  # as typed: "" or -1 is a new random seed
        self.batch = self.field(1, int)
        self.clip_skip = self.field(1, int)
        self.vae = self.field("", text)  # a VAE file, "" for the model's own
        self.prediction = self.field("", text)  # "", "epsilon" or "v"
        self.variation_seed = self.field("", text)
        self.variation_strength = self.field(0.0, float)
        self.walk = self.field(False, bool)  # a latent walk instead of one batch
        self.to_seed = self.field("", text)
        self.to_prompt = self.field("", text)
        self.frames = self.field(8, int)
        self.mode = self.field(INTERPOLATION_MODES[0], text)
        # A reopened picture's precision, kept until another model is chosen: "" for
        # this machine's own path (Settings → Precision).
        self.precision = self.field("", text)
        # Per model file: {"vae": path or "", "prediction": "" | "epsilon" | "v"}.
        self.model_settings: dict[str, dict[str, str]] = {}
        self._showing = False  # filling vae/prediction from the model: not a choice
        self.entries: tuple[LibraryEntry, ...] = ()
        # The wildcard folder and its last listing (gui/wildcard_scanner.py); None until
        # the first arrives, when Generate reads the folder itself.
        self.wildcard_folder: Path | None = None
        self.wildcards: Mapping[str, list[str]] | None = None
        self.model.changed.connect(self._show_model_settings)
        # Starting from an image: a new source sets the size; the outpaint sides move it
        # while the size is still the source's (a size the user typed stays).
        self.source = SourceViewModel()
        self.control = ControlViewModel()  # ControlNet units and the IP-Adapter
        self.fast = FastViewModel()  # few-step suggestions, spacing, the tiny decoder
        self._sized: tuple[int, int] | None = None  # the size last taken from the source
        self.source.path.changed.connect(self._size_from_source)
        s = self.source
        for field in (s.kind, s.left, s.top, s.right, s.bottom):
            field.changed.connect(self._follow_source_size)
        self.vae.changed.connect(self._remember_model_settings)
        self.prediction.changed.connect(self._remember_model_settings)

    def set_library(self, entries: Iterable[LibraryEntry]) -> None:
        """The last scan's files: LoRAs and embeddings the prompt may name."""
        self.entries = tuple(entries)

    def set_wildcards(self, folder: Path, listing: Mapping[str, list[str]]) -> None:
        """The wildcard folder's last listing: `__name__` expands from it."""
        self.wildcard_folder, self.wildcards = folder, listing

    # ------------------------------------------------------------ per-model settings

    def _show_model_settings(self, *_args: object) -> None:
        remembered = self.model_settings.get(self.model.value, {})
        self.precision.set("")  # another model: not a reproduction any more
        self._showing = True
        try:
            self.vae.set(remembered.get("vae", ""))
            self.prediction.set(remembered.get("prediction", ""))
        finally:
            self._showing = False

    def _remember_model_settings(self, *_args: object) -> None:
        if self.model.value and not self._showing:
            self.model_settings[self.model.value] = {
                "vae": self.vae.value,
                "prediction": self.prediction.value,
            }

    # ------------------------------------------------------------ few-step models

    def model_family(self) -> SdFamily | None:
        for entry in self.entries:
            if str(entry.path) == self.model.value:
                return entry.family
        return None

    def few_step(self) -> FewStepMatch | None:
        """The few-step kind of the model or a LoRA the prompt names, if it differs from
        what the form says (the note goes once its settings are in)."""
        try:
            loras = [lora.path for lora in resolve_lora_tags(self.prompt.value, self.entries)]
        except BadInput:  # an unknown LoRA name: the prompt's own check says so
            loras = []
        found = suggestion(self.model.value, loras)
        if found is None:
            return None
        form = (self.steps.value, self.cfg.value, self.sampler.value, self.fast.sampling_spacing())
        return found if differs(found, *form) else None

    def use_suggested(self, found: FewStepMatch) -> None:
        """The few-step kind's settings into the form: only when the user asks."""
        s = found.suggested
        self.steps.set(s.steps)
        self.cfg.set(s.cfg_scale)
        self.sampler.set(s.sampler)
        self.fast.spacing.set(s.spacing or "Model default")

    # ------------------------------------------------------------ requests

    def build_request(self) -> Txt2ImgRequest:
        """One request for the form: a latent walk when the walk is on, else text to
        image. Wildcards choose once, from the seed (a plot's or a walk's pictures share
        the prompt)."""
        request = self.txt2img_request()
        if uses_wildcards(request):
            self._check_wildcards(request)
            seed, folder, listed = request.sampling.seed, self.wildcard_folder, self.wildcards
            request = with_networks(chosen_for_seed(request, seed, folder, listed), self.entries)
        return self.latent_walk_request(request) if self.walk.value else request

    def build_requests(self) -> list[Txt2ImgRequest]:
        """What Generate submits. With wildcards in a prompt, one request per picture of
        the batch, each choosing from its own seed (engine.batch.wildcard_requests)."""
        if self.walk.value:
            return [self.build_request()]
        request = self.txt2img_request()
        if not uses_wildcards(request):
            return [request]
        self._check_wildcards(request)
        made = picture_requests(request, self.wildcard_folder, self.wildcards)
        return [with_networks(each, self.entries) for each in made]

    def _check_wildcards(self, request: Txt2ImgRequest) -> None:
        """Every name the prompts use, chosen or not, is a file (the listing's)."""
        if self.wildcards is not None:
            for text in (request.prompt.positive, request.prompt.negative):
                check_wildcards(text, self.wildcard_folder, self.wildcards)

    def txt2img_request(self) -> Txt2ImgRequest:
        prompt = Prompt(self.prompt.value.strip(), self.negative.value.strip())
        both = f"{prompt.positive} {prompt.negative}"
        strength = self.variation_strength.value
        return Txt2ImgRequest(
            model=ModelRef(Family.SD, self.model.value),
            prompt=prompt,
            loras=resolve_lora_tags(both, self.entries),
            embeddings=embeddings_named(both, self.entries),
            clip_skip=self.clip_skip.value,
            vae=self.vae.value,
            prediction=self.prediction.value,
            variation_seed=resolve_seed(self.variation_seed.value) if strength else 0,
            variation_strength=round(strength, 2),
            size=Size(self.width.value, self.height.value),
            sampling=Sampling(
                steps=self.steps.value,
                cfg_scale=round(self.cfg.value, 2),
                sampler=None if self.sampler.value == MODEL_DEFAULT_SAMPLER else self.sampler.value,
                seed=resolve_seed(self.seed.value),
                spacing=self.fast.sampling_spacing(),
            ),
            batch_size=self.batch.value,
            precision=self.precision.value,
            **self.fast.parts(self.model_family()),
            **self.source.parts(),
            **self.control.parts(),
        )

    def latent_walk_request(self, request: Txt2ImgRequest | None = None) -> LatentWalkRequest:
        """The form's (or the given) text-to-image request as a walk to the second seed."""
        request = request or self.txt2img_request()
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
        return LatentWalkRequest(
            **fields,
            to_seed=resolve_seed(self.to_seed.value),
            to_prompt=self.to_prompt.value.strip(),
            frames=self.frames.value,
            mode=self.mode.value,
            grid=True,
        )

    # ------------------------------------------------------------ filling the form

    def apply_request(self, request: Txt2ImgRequest, seed: int | None = None) -> None:
        """Every field from a request (Use these parameters): its seed, one image."""
        if request.model.id:
            self.model.set(request.model.id)
        self.prompt.set(request.prompt.positive)
        self.negative.set(request.prompt.negative)
        self.width.set(request.size.width)
        self.height.set(request.size.height)
        self.steps.set(request.sampling.steps)
        self.cfg.set(request.sampling.cfg_scale)
        self.sampler.set(request.sampling.sampler or MODEL_DEFAULT_SAMPLER)
        self.seed.set(seed_text(request.sampling.seed if seed is None else seed))
        self.batch.set(1)
        self.clip_skip.set(request.clip_skip)
        self.variation_strength.set(request.variation_strength)
        if request.variation_strength:
            self.variation_seed.set(seed_text(request.variation_seed))
        self.vae.set(request.vae)
        self.prediction.set(request.prediction)
        self.precision.set(request.precision)  # after the model, whose change clears it
        self._remember_model_settings()
        self.fast.apply(request.tiny_vae, request.fast_decode, request.sampling.spacing)
        self.source.apply_request(request)
        self.control.apply_request(request)
        walk = isinstance(request, LatentWalkRequest)
        self.walk.set(walk)
        if walk:
            self.to_seed.set(seed_text(request.to_seed))
            self.to_prompt.set(request.to_prompt)
            self.frames.set(request.frames)
            self.mode.set(request.mode)

    def apply_parameters(self, params: dict[str, Any]) -> tuple[str, ...]:
        """What another tool's A1111 text says; what it does not say stays as it is.
        Its image parts (strength, inpaint options, hires fix) fill the source section;
        the source image and mask are not in the text: what is missing is returned,
        for the panel to name."""
        read = request_from_parameters(params)
        self.precision.set("")  # another tool's picture: this machine's own numbers
        self.source.apply_request(read.request)
        self.control.apply_request(read.request)
        self.prompt.set(str(params.get("prompt", "")))
        self.negative.set(str(params.get("negative_prompt", "")))
        fields = (
            ("width", self.width),
            ("height", self.height),
            ("steps", self.steps),
            ("cfg_scale", self.cfg),
            ("clip_skip", self.clip_skip),
            ("variation_seed_strength", self.variation_strength),
        )
        for key, field in fields:
            if isinstance(params.get(key), int | float):
                field.set(params[key])
        for key, field in (("seed", self.seed), ("variation_seed", self.variation_seed)):
            if isinstance(params.get(key), int | float):
                field.set(seed_text(int(params[key])))
        sampling = read.request.sampling  # "Schedule type" read with the sampler
        if sampling.sampler is not None:
            self.sampler.set(sampling.sampler)
        if sampling.spacing:
            self.fast.spacing.set(sampling.spacing)
        self.batch.set(1)
        return read.missing

    # ------------------------------------------------------------ sizes

    def _size_from_source(self, *_args: object) -> None:
        self._sized = None
        self._follow_source_size()

    def _follow_source_size(self, *_args: object) -> None:
        size = self.source.output_size()
        shown = (self.width.value, self.height.value)
        if size is not None and (self._sized is None or shown == self._sized):
            self.width.set(size[0])
            self.height.set(size[1])
            self._sized = size

    def size_note(self) -> str:
        """How the source becomes the output ("1023×767 → 1024×768"), "" without one."""
        wanted = self.source.wanted_size()
        if wanted is None:
            return ""
        shown = (self.width.value, self.height.value)
        return size_note(wanted, shown, self.source.resize_mode.value, self.source.size)

    def odd_sides(self) -> list[tuple[str, int]]:
        """("Width", 500)... for each side Stable Diffusion cannot draw (not a multiple)."""
        sides = (("Width", self.width.value), ("Height", self.height.value))
        return [(name, value) for name, value in sides if value % SIZE_MULTIPLE]

    def nearest_size(self) -> tuple[int, int]:
        return nearest_multiple(self.width.value), nearest_multiple(self.height.value)

    def snap_size(self) -> None:
        """Each side to the nearest size Stable Diffusion draws."""
        width, height = self.nearest_size()
        self.width.set(width)
        self.height.set(height)

    # ------------------------------------------------------------ settings

    def state(self) -> dict[str, Any]:
        """What the next start of the app should show again."""
        return {
            "prompt": self.prompt.value,
            "negative": self.negative.value,
            "width": self.width.value,
            "height": self.height.value,
            "steps": self.steps.value,
            "cfg": self.cfg.value,
            "sampler": self.sampler.value,
            "seed": self.seed.value,
            "batch": self.batch.value,
            "clip_skip": self.clip_skip.value,
            "source": self.source.state(),
            "fast": self.fast.state(),
            "model_settings": {k: dict(v) for k, v in self.model_settings.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            self.prompt.set(str(state.get("prompt", "")))
            self.negative.set(str(state.get("negative", "")))
            for key, field in (
                ("width", self.width),
                ("height", self.height),
                ("steps", self.steps),
                ("cfg", self.cfg),
            ):
                field.set(state.get(key, field.value))
            if state.get("sampler") in SAMPLERS:
                self.sampler.set(state["sampler"])
            self.seed.set(str(state.get("seed", "")))
            self.batch.set(state.get("batch", self.batch.value))
            self.clip_skip.set(state.get("clip_skip", 1))
            if isinstance(state.get("source"), dict):
                self.source.restore(state["source"])
            if isinstance(state.get("fast"), dict):
                self.fast.restore(state["fast"])
            remembered = state.get("model_settings", {})
            if isinstance(remembered, dict):
                self.model_settings = {
                    str(k): {str(a): str(b) for a, b in v.items()}
                    for k, v in remembered.items()
                    if isinstance(v, dict)
                }


def missing_sentence(missing: tuple[str, ...]) -> str:
    """What a picture's A1111 text could not carry, and what to do: the source image and
    mask ("source image", "mask"), the control units' and IP-Adapter's images."""
    source = [m for m in missing if m in ("source image", "mask")]
    images = [m for m in missing if m not in source]
    sentences = []
    if source:
        sentences.append(
            f"This picture was made from an image: its text keeps the options but not "
            f"the {' and the '.join(source)}. Open the source image "
            f"{'and paint the mask ' if 'mask' in source else ''}to make it again."
        )
    if images:
        sentences.append(
            f"Its text names the control models but not the {', the '.join(images)}: "
            "open them in the Control section."
        )
    return " ".join(sentences)
