"""Upscaling an image, and asking what an upscaler file is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.kinds import Lane, Task
from engine.api.naming import shorten
from engine.api.outcomes import (
    ImagesOutcome,
    Outcome,
    VectorsOutcome,
)
from engine.api.parts import (
    ImageRef,
    check_text,
)
from engine.api.requests.base import (
    ModelRequest,
    image_name,
)


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
    reopen_place: ClassVar[str | None] = "upscale"

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
