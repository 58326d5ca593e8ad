"""The model families, read from their own specs: what each can do, in one place.

Each package engine/models/<family>/ holds a torch-free `spec` module exporting
`SPEC = FamilySpec(...)`. This module finds them by scanning `engine.models.__path__`
(a test may add a folder to it) and answers every question the catalogue, the Lab,
Explore, Train, the CLI and the request checks ask about a family. The specs are
imported at run time (importlib), so engine.api stays below engine.models.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from engine.api.errors import BadInput
from engine.api.kinds import Family, Task
from engine.api.sample_options import SampleOptions

MODELS_PACKAGE = "engine.models"
# The Latent Lab's Explore tools a spec may name, by id ("explore:<id>" reopens one).
EXPLORE_TOOLS = {
    "sliders": "Latent sliders",
    "walk": "Interpolation",
    "arithmetic": "Latent arithmetic",
    "reconstruct": "Reconstruction",
    "reverse": "Reverse process",
    "forward": "Forward process",
    "components": "Components",
    "pixels": "Pixel by pixel",
    "gibbs": "Gibbs chain",
}


# How a family's held-out negative log-likelihood is known, as the timeline labels it.
LIKELIHOOD_KINDS = {
    "exact": "exact",  # p(x) in closed form: a mixture, an autoregressive net, a flow
    "bound": "bound",  # an upper bound on −log p(x) (a VAE's ELBO, a diffusion model's VLB)
    "estimate": "estimate",  # a stochastic estimate of log Z (an RBM's AIS)
}


@dataclass(frozen=True)
class Likelihood:
    """What a family's held-out bits per dimension are: exact, a bound or an estimate,
    and over which values (a continuous density on dequantised levels bounds the discrete
    pixels' likelihood; a discrete one scores the levels themselves; binarised pixels are
    another data set altogether). The score runner reports it under `score_key`."""

    kind: str  # a key of LIKELIHOOD_KINDS
    over: str  # "binarised pixels", "dequantised pixel levels", "pixel levels"
    # Bundled data sets on which it is over other values, each with them (an RBM: binary
    # visibles on digits, Gaussian ones on the colour sets): (("shapes", "…"),).
    over_on: tuple[tuple[str, str], ...] = ()

    def over_for(self, dataset: str) -> str:
        """What its bits are over on `dataset`."""
        return dict(self.over_on).get(dataset, self.over)

    @property
    def score_key(self) -> str:
        suffix = "" if self.kind == "exact" else f"_{self.kind}"
        return f"held_out_bits_per_dim{suffix}"


@dataclass(frozen=True)
class FamilySpec:
    """What a family is and can do. Plain data: importing a spec never imports torch."""

    id: str
    title: str  # what pickers and sentences call it: "VAE", "Stable Diffusion"
    about: str = ""  # its idea in a sentence or two (HTML), shown by the Lab
    idea: str = ""  # its idea in one plain sentence, as its paper puts it (the timeline)
    year: int = 0  # when the idea was published: the Lab lists families in that order
    paper: str = ""  # the paper that year stands for: "Authors, “Title” (venue, year)"
    # How its held-out likelihood is known (None: it gives none, as a GAN)
    likelihood: Likelihood | None = None
    tasks: tuple[Task, ...] = ()  # what its runners do (registered in its runners module)
    lab: bool = False  # listed in the Latent Lab
    trains_on: tuple[str, ...] = ()  # the bundled data sets its presets are made for
    # Bundled data sets it cannot model at all, each with the sentence the Train tab shows
    # beside them (a binary RBM and colour): (("shapes", "…"), ("emoji", "…")).
    cannot_model: tuple[tuple[str, str], ...] = ()
    # "module:NAME" of its training preset table (by data set); imported only to train.
    presets: str = ""
    # The class of its presets' settings, when a training request may set them by name
    # (`--set rank=8`, the Train tab's controls): a torch-free dataclass with a `check`.
    train_settings: type | None = None
    # Its training takes a batch size and a learning rate (EM, which sees every image
    # each step and has no gradient, does not): what a Lab sweep may vary.
    batched: bool = True
    sample_options: type[SampleOptions] | None = None  # the options its samples take
    explore_tools: tuple[str, ...] = ()  # ids of EXPLORE_TOOLS, in the order shown
    # It finds the latent code of any picture (a flow exactly, a VAE by its encoder):
    # a walk may start or end at an image file.
    encodes_images: bool = False
    # The Lab opens on this family's first model: the families are listed in the order
    # history met them, but a new learner's first picture should be one that teaches
    # the Lab's ideas (a latent code, its sliders), not the oldest and noisiest.
    opens_lab: bool = False

    @property
    def family(self) -> Family:
        return Family(self.id)

    @property
    def runners_module(self) -> str:
        return f"{MODELS_PACKAGE}.{self.id}.runners"

    def why_not(self, dataset: str) -> str:
        """The sentence saying why it cannot model `dataset`; "" when it can."""
        return dict(self.cannot_model).get(dataset, "")

    def preset(self, name: str) -> Any:
        """The training preset for a bundled data set (imports the training code)."""
        module, _, attribute = self.presets.partition(":")
        if not module:
            raise BadInput(f"{self.title} models have no training presets.")
        table = getattr(importlib.import_module(module), attribute)
        if name not in table:
            raise BadInput(f"{self.title} has no preset {name!r} (it has {', '.join(table)}).")
        return table[name]


@cache
def family_specs() -> dict[Family, FamilySpec]:
    """Every family with a spec, by id, in the order of their years (then ids)."""
    found = []
    for name in _family_packages():
        module = importlib.import_module(f"{MODELS_PACKAGE}.{name}.spec")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, FamilySpec) and spec.id == name:
            found.append(spec)
    found.sort(key=lambda s: (s.year, s.id))
    return {Family(s.id): s for s in found}


def _family_packages() -> list[str]:
    """The packages under engine.models that have a spec module (engine.models.common
    has none: it is shared code, not a family)."""
    package = importlib.import_module(MODELS_PACKAGE)
    names = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and _has_spec(module.name):
            names.append(module.name)
    return names


def _has_spec(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{MODELS_PACKAGE}.{name}.spec") is not None
    except ImportError:
        return False


def refresh() -> None:
    """Forget the specs read so far (after a package is added to engine.models.__path__)."""
    family_specs.cache_clear()


def names() -> tuple[str, ...]:
    return tuple(family_specs())


def is_known(family: str) -> bool:
    return family in family_specs()


def spec_of(family: str) -> FamilySpec:
    """The spec of a family, or BadInput with a sentence when no package declares it."""
    spec = family_specs().get(family)  # type: ignore[call-overload]
    if spec is None:
        known = ", ".join(names()) or "none"
        raise BadInput(
            f"This version of Latent Studio has no model family {str(family)!r} "
            f"(it has {known}). A newer version may have made this file."
        )
    return spec


def lab_families() -> tuple[Family, ...]:
    """The families the Latent Lab offers, in the order history met them."""
    return tuple(f for f, s in family_specs().items() if s.lab)


def opening_lab_family() -> Family | None:
    """The family whose first model the Lab shows when nothing else is chosen."""
    return next((f for f in lab_families() if family_specs()[f].opens_lab), None)


def trainable_families() -> tuple[Family, ...]:
    """The Lab families that can be trained in the app (Train tab, python -m engine.train)."""
    return tuple(f for f in lab_families() if Task.TRAIN in family_specs()[f].tasks)


def supports(family: str, task: Task) -> bool:
    spec = family_specs().get(family)  # type: ignore[call-overload]
    return spec is not None and task in spec.tasks


def families_for(task: Task) -> tuple[Family, ...]:
    return tuple(f for f, s in family_specs().items() if task in s.tasks)


def train_setting_names(family: str) -> tuple[str, ...]:
    """The settings a training of `family` may name (none for most families)."""
    cls = spec_of(family).train_settings
    return () if cls is None else tuple(item.name for item in dataclasses.fields(cls))


def sample_options_of(family: str) -> type[SampleOptions]:
    """The options class a family's samples take: its spec's, else the plain
    SampleOptions (none beyond seed and count; also for a family with no spec)."""
    spec = family_specs().get(family)  # type: ignore[call-overload]
    return spec.sample_options if spec and spec.sample_options else SampleOptions


def takes_options(family: str, cls: type[SampleOptions]) -> bool:
    """Whether a family's samples take the options of `cls` (DDPM: the diffusion ones)."""
    return issubclass(sample_options_of(family), cls)


def title_of(family: str) -> str:
    spec = family_specs().get(family)  # type: ignore[call-overload]
    return spec.title if spec else str(family)


def titles(families: Sequence[str]) -> str:
    """ "VAE", "VAE or GAN", "VAE, GAN or DDPM"."""
    named = [title_of(f) for f in families]
    return " or ".join(named) if len(named) < 3 else f"{', '.join(named[:-1])} or {named[-1]}"
