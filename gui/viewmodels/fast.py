"""Create's speed settings: few-step suggestions, timestep spacing, and the tiny decoder.

When the chosen model or a LoRA in the prompt is a few-step kind (engine.library.few_step),
a note says so and offers its model card's settings; they are applied only when the
user asks ("Use suggested settings"), so nothing the user typed changes by itself. A
tiny autoencoder (TAESD) found beside the model folders can decode the live previews,
and the final picture when the user prefers speed (the recipe records it).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.api.errors import BadModelFile
from engine.library.detect import SdFamily
from engine.library.few_step import FewStepMatch, recognise, recognise_header
from engine.library.header import read_header
from engine.library.tiny_vaes import tiny_vae_for
from gui.viewmodels.fields import FormModel, text

APPROXIMATE, TINY = "Approximate", "TAESD"
PREVIEWS = (APPROXIMATE, TINY)
SPACING_DEFAULT = "Model default"
SPACINGS = (SPACING_DEFAULT, "leading", "trailing", "linspace")


def few_step_of(path: str) -> FewStepMatch | None:
    """The few-step kind of a model or LoRA file: its metadata and names where it is a
    safetensors file (one small read), else its name."""
    file = Path(path)
    if file.suffix.lower() == ".safetensors" and file.is_file():
        try:
            return recognise_header(read_header(file))
        except (BadModelFile, OSError, ValueError):
            pass
    return recognise(file.name)


class FastViewModel(FormModel):
    def __init__(self) -> None:
        super().__init__()
        self.spacing = self.field(SPACING_DEFAULT, text)
        self.preview = self.field(APPROXIMATE, text)
        self.fast_decode = self.field(False, bool)
        self.folders: tuple[Path, ...] = ()

    def set_folders(self, folders: Iterable[Path]) -> None:
        self.folders = tuple(Path(f) for f in folders)

    def tiny_vae(self, family: SdFamily | None) -> Path | None:
        return tiny_vae_for(self.folders, family)

    def sampling_spacing(self) -> str:
        return "" if self.spacing.value == SPACING_DEFAULT else self.spacing.value

    def parts(self, family: SdFamily | None) -> dict[str, Any]:
        """The request's tiny-decoder fields: none unless previews or the decode use it."""
        wanted = self.preview.value == TINY or self.fast_decode.value
        found = self.tiny_vae(family) if wanted else None
        if found is None:
            return {}
        return {"tiny_vae": str(found), "fast_decode": bool(self.fast_decode.value)}

    def state(self) -> dict[str, Any]:
        return {
            "spacing": self.spacing.value,
            "preview": self.preview.value,
            "fast_decode": self.fast_decode.value,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """The last session's choices; values this version does not know are skipped."""
        if state.get("spacing") in SPACINGS:
            self.spacing.set(state["spacing"])
        if state.get("preview") in PREVIEWS:
            self.preview.set(state["preview"])
        self.fast_decode.set(state.get("fast_decode") is True)

    def apply(self, tiny_vae: str, fast_decode: bool, spacing: str) -> None:
        """A recipe's settings back into the form."""
        self.spacing.set(spacing or SPACING_DEFAULT)
        self.fast_decode.set(bool(tiny_vae and fast_decode))
        if tiny_vae:
            self.preview.set(TINY)


def suggestion(model: str, loras: Iterable[str]) -> FewStepMatch | None:
    """A LoRA's kind before the model's: a few-step LoRA is what makes an ordinary model
    few-step, and it is what the user added last."""
    for path in (*loras, model):
        if path and (found := few_step_of(path)) is not None:
            return found
    return None


def differs(match: FewStepMatch, steps: int, cfg: float, sampler: str, spacing: str) -> bool:
    s = match.suggested
    return (s.steps, round(s.cfg_scale, 2), s.sampler, s.spacing) != (
        steps,
        round(cfg, 2),
        sampler,
        spacing,
    )
