"""The base of every request: what a job asks the engine for, and how it describes itself.

Every request names its `task` and `family` (the registry dispatches on the pair), the
`lane` it runs on and the kind of outcome it returns. It checks itself (`validate`: pure
checks on its data, safe on any thread) and describes itself: a line for the queue, the
AUTOMATIC1111 fields of its images, the text a file name is made from, and the place
that reopens it ("Use these parameters").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from engine.api import families
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Family, Lane, Task
from engine.api.outcomes import Outcome
from engine.api.parts import ModelRef
from engine.api.serialize import check_types, to_data

REQUEST_TYPES: dict[Task, type[Request]] = {}
INTERPOLATION_MODES = ("slerp", "lerp")


@dataclass(frozen=True, kw_only=True)
class Request:
    """Base of every request; subclasses register themselves by their task."""

    task: ClassVar[Task]
    lane: ClassVar[Lane]
    outcome: ClassVar[type[Outcome]]
    # Where "Use these parameters" reopens a request: "create", "lab", "upscale", or
    # "explore:<tool>" (a Latent Lab → Explore tool: sliders, walk, arithmetic,
    # reconstruct, reverse, forward); None when nothing reopens it (a slider's frame).
    reopen_place: ClassVar[str | None] = None
    # Whether whoever asked shows the job's failure itself (a preview's thumbnail says
    # it), so the window puts up no box for it.
    shows_own_failures: ClassVar[bool] = False
    # Whether only whoever asked shows what the job made (a preview's thumbnail): it
    # never takes the canvas, the details or the window's list of unsaved images.
    shows_own_outcome: ClassVar[bool] = False

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
    def reopens_in(self) -> str | None:
        """The place that "Use these parameters" fills from this request."""
        return self.reopen_place

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
        """The request as recipe JSON data: its fields plus "type" (the task)."""
        return {"type": self.task.value, **to_data(self)}


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
        families.spec_of(self.model.family)  # a family no package declares: a sentence
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


def require_support(model: ModelRef, task: Task, what: str) -> None:
    """Refuse a model whose family's spec does not list `task`, naming the families that
    do (read from the specs, so a new family that declares the task is accepted)."""
    if families.supports(model.family, task):
        return
    names = families.titles(families.families_for(task))
    own = title_of(model.family)
    raise BadInput(
        f"{what} needs {article(names)} {names} model; {model.name} is {article(own)} {own} "
        f"model. Choose {article(names)} {names} model."
    )


def article(title: str) -> str:
    """'an' before a title said with a vowel sound, else 'a': an RBM and an SD model are
    spelled letter by letter, a NADE is said as a word, as is a GMM's G."""
    word = title.split(" ")[0]
    spelled = word.isupper() and not any(v in word for v in "AEIOU")
    spoken_vowel = word[:1] in "AEIOU" or (spelled and word[:1] in "FHLMNRSX")
    return "an" if spoken_vowel else "a"


def image_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
