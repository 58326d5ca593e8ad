"""The Lab's Sample tab state, and the one place a SampleRequest is built.

Everything in the GUI that asks for samples (the Sample tab, a clicked sample of a sheet,
a code kept from the latent sliders) goes through `sample_request`, so a change to the
request's fields is made here once. The catalogue's models arrive with `set_models` (the
panel lists them); the view-model reads no files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from engine.api import families
from engine.api.errors import BadInput
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.api.sample_options import DiffusionSampleOptions, SampleOptions, scalar_fields
from gui.viewmodels.fields import FormModel, resolve_seed, seed_text, text

DEFAULT_STEPS = DiffusionSampleOptions().steps
NO_MODEL = "There is no model to sample: train one, or reinstall the bundled ones."


def is_diffusion(model: ModelRef | None) -> bool:
    """Whether the model takes steps, a class and guidance (its family's spec says so)."""
    return model is not None and families.takes_options(model.family, DiffusionSampleOptions)


def sample_request(
    model: ModelRef,
    seed: int,
    count: int = 1,
    *,
    grid: bool = False,
    options: SampleOptions | None = None,
) -> SampleRequest:
    """Samples `seed`, `seed + 1`… of a Lab model (one, by default: a kept sample);
    `options` of the class its family's spec names (None: the family's defaults)."""
    options = options or SampleOptions()
    return SampleRequest(model=model, seed=seed, count=count, grid=grid, options=options)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class LabViewModel(FormModel):
    def __init__(self) -> None:
        super().__init__()
        self.model = self.field(None)  # a ModelRef from `models`, None when there is none
        self.seed = self.field("", text)  # as typed: "" or -1 is a new random seed
        self.count = self.field(16, int)
        self.steps = self.field(DEFAULT_STEPS, int)
        self.label = self.field(None, _optional_int)  # a diffusion model's class (None: any)
        self.guidance = self.field(1.0, float)
        # Another family's own options by field name (an RBM's gibbs_steps, a flow's
        # temperature): the controls are built from its options class (sample_options_form).
        self.options = self.field({}, dict)
        self.models: tuple[ModelRef, ...] = ()
        self.classes: tuple[str, ...] = ()  # the chosen model's class names

    # ------------------------------------------------------------ models

    def set_models(self, models: Iterable[ModelRef], select: str = "") -> bool:
        """The catalogue's models; choose `select` (an id), else keep the current one,
        else the first. True when the chosen model changed."""
        self.models = tuple(models)
        current = select or (self.model.value.id if self.model.value else "")
        return self.select_model(current)

    def select_model(self, model_id: str) -> bool:
        chosen = next((m for m in self.models if m.id == model_id), None)
        return self.model.set(chosen or self._opening_model())

    def _opening_model(self) -> ModelRef | None:
        opening = families.opening_lab_family()
        first = next((m for m in self.models if m.family == opening), None)
        return first or (self.models[0] if self.models else None)

    def describe_model(self, classes: Iterable[str], default_guidance: float) -> None:
        """What the chosen model's record says: its classes (any class again) and its
        recommended guidance."""
        self.classes = tuple(classes)
        self.label.set(None)
        self.guidance.set(default_guidance)

    @property
    def diffusion(self) -> bool:
        return is_diffusion(self.model.value)

    # ------------------------------------------------------------ requests

    def sample_request(self) -> SampleRequest:
        """What Generate on the Sample tab submits: one sheet of samples."""
        model = self.model.value
        if model is None:
            raise BadInput(NO_MODEL)
        options = (
            DiffusionSampleOptions(
                steps=self.steps.value,
                label=self.label.value,
                guidance=round(self.guidance.value, 2),
            )
            if is_diffusion(model)
            else self.family_options(model)
        )
        seed = resolve_seed(self.seed.value)
        return sample_request(model, seed, self.count.value, grid=True, options=options)

    def family_options(self, model: ModelRef) -> SampleOptions:
        """The model's family's options from the values shown (its defaults for the rest)."""
        cls = families.sample_options_of(model.family)
        names = {item.name for item, _ in scalar_fields(cls)}
        return cls(**{k: v for k, v in self.options.value.items() if k in names})

    def apply_request(self, request: SampleRequest, seed: int | None = None) -> None:
        """Use these parameters: the sheet's seed and size, or one sample's seed."""
        self.select_model(request.model.id)
        self.seed.set(seed_text(request.seed if seed is None or request.grid else seed))
        self.count.set(request.count if request.grid else 1)
        fields = scalar_fields(type(request.options))
        if not isinstance(request.options, DiffusionSampleOptions):
            self.options.set({item.name: getattr(request.options, item.name) for item, _ in fields})
        # Another family's samples set the diffusion controls to their defaults.
        options = request.options
        if not isinstance(options, DiffusionSampleOptions):
            options = DiffusionSampleOptions()
        self.steps.set(options.steps)
        if options.guidance is not None:
            self.guidance.set(options.guidance)
        if options.label is None or 0 <= options.label < len(self.classes):
            self.label.set(options.label)

    # ------------------------------------------------------------ settings

    def state(self) -> dict[str, Any]:
        model = self.model.value
        return {
            "model": model.id if model else "",
            "seed": self.seed.value,
            "count": self.count.value,
            "steps": self.steps.value,
            "label": self.label.value,
            "guidance": round(self.guidance.value, 2),
            "options": dict(self.options.value),
        }

    def restore(self, state: dict[str, Any]) -> None:
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            # The model first: choosing it sets its classes and its default guidance.
            self.select_model(str(state.get("model", "")))
            self.seed.set(str(state.get("seed", "")))
            self.count.set(state.get("count", self.count.value))
            self.steps.set(state.get("steps", self.steps.value))
            label = state.get("label")
            ok = label is None or (isinstance(label, int) and 0 <= label < len(self.classes))
            self.label.set(label if ok else None)
            self.guidance.set(state.get("guidance", self.guidance.value))
            options = state.get("options")
            if isinstance(options, dict):
                self.options.set(options)
