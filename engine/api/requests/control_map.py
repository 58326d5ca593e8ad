"""A control unit's map, shown beside its image before anything is generated (issue 22)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.api.image_parts import ControlUnit
from engine.api.kinds import Family, Lane, Task
from engine.api.naming import shorten
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.parts import Size
from engine.api.requests.base import Request, image_name


@dataclass(frozen=True, kw_only=True)
class ControlMapRequest(Request):
    """The map `unit`'s preprocessor makes of its image fitted to `width`×`height` by
    its resize mode: exactly the map a job of that size would give the model. Nothing
    is saved and the queue does not list it; it runs on the interactive lane, so it
    does not wait behind a generation. The unit's model is not needed (nor opened)."""

    task: ClassVar[Task] = Task.CONTROL_MAP
    lane: ClassVar[Lane] = Lane.INTERACTIVE
    outcome: ClassVar[type[Outcome]] = ImagesOutcome
    family: ClassVar[Family] = Family.SD
    # The asker shows a failure itself (the map's thumbnail says it), not in a box.
    shows_own_failures: ClassVar[bool] = True
    shows_own_outcome: ClassVar[bool] = True  # the map goes to its thumbnail only

    unit: ControlUnit
    width: int = 512
    height: int = 512

    def check(self) -> None:
        Size(self.width, self.height).check()
        self.unit.check_map()

    def describe(self) -> str:
        return " · ".join(
            [shorten(image_name(self.unit.image.path), 32), self.unit.preprocessor, "map"]
        )

    @property
    def listed(self) -> bool:
        return False
