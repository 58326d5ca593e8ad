"""Runner registration: which class runs which (task, family). The runtime dispatches here.

A family's package (engine/models/<family>/) registers its runners in its `runners`
module:

    @runner(task=Task.SAMPLE, family=Family.VAE)
    class VaeSampleRunner: ...

That module is imported on the first job of its family, so a Latent Lab job never pays
for diffusers. Adding a family or task is one package and one registration; nothing here
changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from engine.api.errors import BadInput
from engine.api.kinds import Family, Task
from engine.api.outcomes import Outcome
from engine.api.requests import REQUEST_TYPES, Request

if TYPE_CHECKING:
    from engine.cache import ModelCache
    from engine.context import JobContext
    from engine.device import DeviceChoice
    from engine.hashing import HashService

MODELS_PACKAGE = "engine.models"


@dataclass(frozen=True)
class RunnerEnv:
    """What every runner is built with: where to compute, the model cache, the hasher."""

    device: DeviceChoice
    cache: ModelCache
    hashes: HashService


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
        module = f"{MODELS_PACKAGE}.{family.value}.runners"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name not in (module, f"{MODELS_PACKAGE}.{family.value}"):
                raise
    if key not in _RUNNERS:
        raise BadInput(
            f"{family.title} models cannot do {task.value} jobs in this version of Latent Studio."
        )
    return _RUNNERS[key]


def discover() -> dict[tuple[Task, Family], type]:
    """Import every family package and return all registrations (tests, CLI help)."""
    package = importlib.import_module(MODELS_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and module.name in {f.value for f in Family}:
            importlib.import_module(f"{MODELS_PACKAGE}.{module.name}.runners")
    return dict(_RUNNERS)


def request_class(task: Task) -> type[Request]:
    return REQUEST_TYPES[task]
