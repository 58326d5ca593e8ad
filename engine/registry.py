"""Runner registration: which class runs which (task, family). The runtime dispatches here.

A family's package (engine/models/<family>/) registers its runners in its `runners`
module:

    @runner(task=Task.SAMPLE, family=Family.VAE)
    class VaeSampleRunner: ...

That module is imported on the first job of its family, so a Latent Lab job never pays
for diffusers. The family's `spec` module (engine.api.families) lists the tasks the
runners do; `family_problems()` says when the two disagree (a family half-added).
Adding a family or task is one package; nothing here changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from engine.api import families
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Family, Task
from engine.api.outcomes import Outcome
from engine.api.requests import REQUEST_TYPES, Request

if TYPE_CHECKING:
    from engine.cache import ModelCache
    from engine.context import JobContext
    from engine.cpu_path import NumericPath
    from engine.device import DeviceChoice
    from engine.hashing import HashService

MODELS_PACKAGE = "engine.models"


@dataclass(frozen=True)
class RunnerEnv:
    """What every runner is built with: where to compute, the model cache, the hasher."""

    device: DeviceChoice
    cache: ModelCache
    hashes: HashService
    numerics: NumericPath | None = None  # Stable Diffusion's path; None: the device's default
    offload: str = "auto"  # CUDA: "auto", "none", "model", "sequential" (engine.models.sd.offload)
    compile: bool = False  # the CPU: Stable Diffusion's UNet by torch.compile (…sd.compiled)


class Runner(Protocol):
    task: ClassVar[Task]
    family: ClassVar[Family]
    # Whether the runtime may run the job again after freeing memory on out-of-memory.
    # False for jobs with side effects beyond their outcome (training writes checkpoints).
    retry_on_oom: ClassVar[bool]

    def __init__(self, env: RunnerEnv) -> None: ...

    def run(self, request: Request, ctx: JobContext) -> Outcome: ...

    def unload(self) -> None:
        """Drop whatever the runner holds between jobs (models live in the cache)."""


R = TypeVar("R", bound=type)
_RUNNERS: dict[tuple[Task, Family], type] = {}


def runner(*, task: Task, family: Family) -> Callable[[R], R]:
    """Class decorator: register a runner for (task, family)."""

    def register(cls: R) -> R:
        key = (task, family)
        if _RUNNERS.get(key, cls) is not cls:
            raise RuntimeError(f"two runners registered for {task.value}/{family.value}")
        cls.task, cls.family = task, family
        if not hasattr(cls, "retry_on_oom"):
            cls.retry_on_oom = True
        _RUNNERS[key] = cls
        return cls

    return register


def runner_class(task: Task, family: Family) -> type:
    """The runner class for (task, family), importing the family's package if needed."""
    key = (task, family)
    if key not in _RUNNERS:
        _import_runners(family)
    if key not in _RUNNERS:
        raise BadInput(
            f"{title_of(family)} models cannot do {task.value} jobs "
            "in this version of Latent Studio."
        )
    return _RUNNERS[key]


def _import_runners(family: str) -> bool:
    """Import a family's runners module; False when it has none."""
    module = f"{MODELS_PACKAGE}.{family}.runners"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in (module, f"{MODELS_PACKAGE}.{family}"):
            raise
        return False
    return True


def discover() -> dict[tuple[Task, Family], type]:
    """Import the runners of every family with a spec and return all registrations."""
    for family in families.family_specs():
        _import_runners(family)
    return dict(_RUNNERS)


def family_problems() -> list[str]:
    """Sentences for each half-added family: a spec without a runners module, a task its
    spec lists with no runner registered, runners for a family no spec declares, or an
    Explore tool no page exists for. Empty when every family is whole."""
    families.refresh()
    specs = families.family_specs()
    problems = []
    for family, spec in specs.items():
        if not _import_runners(family):
            problems.append(f"{family}: a spec but no module {spec.runners_module}")
            continue
        problems += [
            f"{family}: its spec lists {task.value} but no runner is registered for it"
            for task in spec.tasks
            if (task, family) not in _RUNNERS
        ]
        problems += [
            f"{family}: unknown Explore tool {tool!r}"
            for tool in spec.explore_tools
            if tool not in families.EXPLORE_TOOLS
        ]
        if spec.lab and Task.SAMPLE in spec.tasks and spec.sample_options is None:
            problems.append(f"{family}: a Lab family with no sample options class")
    unspecified = {family for _task, family in _RUNNERS} | set(_packages_with_runners())
    problems += [
        f"{family}: runners but no spec (engine/models/{family}/spec.py)"
        for family in sorted(unspecified - set(specs))
    ]
    return problems


def _packages_with_runners() -> list[str]:
    package = importlib.import_module(MODELS_PACKAGE)
    return [
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if m.ispkg and importlib.util.find_spec(f"{MODELS_PACKAGE}.{m.name}.runners")
    ]


def request_class(task: Task) -> type[Request]:
    return REQUEST_TYPES[task]
