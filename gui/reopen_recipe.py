"""*Use these parameters* from the main window: which panel a picture's recipe goes to.

Our own picture goes back to the panel that names its place (Request.reopens_in), all of
its recipe or the part asked for; another tool's picture fills Create from the parameters
it carries (gui/use_parts.py). Either way the user is told what was filled in and what
could not be.
"""

from __future__ import annotations

from typing import Protocol

from engine.store import ImageMetadata
from gui.create_panel import CreatePanel
from gui.details_panel import DetailsPanel
from gui.mode_panel import ModePanel
from gui.notices import Notices
from gui.use_parts import ALL, PROMPT, SEED_ONLY, done_sentence, fill_create, picture_params


class ReopenWindow(Protocol):
    """What this uses of the main window (MainWindow has it all; typed here so that this
    module does not import the window that imports it)."""

    modes: list[ModePanel]
    create_panel: CreatePanel
    details: DetailsPanel
    notices: Notices

    def show_panel(self, panel: ModePanel) -> None: ...


def use_parameters(window: ReopenWindow, meta: ImageMetadata, part: str = ALL) -> None:
    """Fill the panel that reopens the image's recipe (its own seed), or Create from
    another tool's parameters: `part` of them, naming what could not be used."""
    request = meta.request
    place = request.reopens_in if request is not None else None
    panel = next((p for p in window.modes if place in p.reopens), None)
    if panel is not None:
        problems = _reopen_part(window.create_panel, panel, meta, part)
    else:
        problems = _fill_create_from_foreign(window, meta, part)
        if problems is None:
            return  # nothing in the picture to use
        panel = window.create_panel
    window.show_panel(panel)
    sentence = done_sentence(part, problems)
    if panel is window.create_panel:
        window.create_panel.notice.emit(sentence)
    else:
        window.notices.say(sentence, 8_000)


def _fill_create_from_foreign(
    window: ReopenWindow, meta: ImageMetadata, part: str
) -> list[str] | None:
    """Another tool's parameters into Create; None when the picture carries none."""
    details = window.details
    foreign = details.foreign if details.meta is meta else None
    params, loras = picture_params(meta, foreign)
    if not params:
        return None
    create = window.create_panel
    problems = fill_create(create.vm, params, loras, part, tuple(create.listing.entries))
    if part != SEED_ONLY:
        control = create.control
        control.set_expanded(create.vm.control.in_use or control.toggle.isChecked())
    return problems


def _reopen_part(
    create: CreatePanel, panel: ModePanel, meta: ImageMetadata, part: str
) -> list[str]:
    """Our own picture's recipe into its panel: all of it, or the part asked for."""
    request, pinned = meta.reproduce()  # in the precision it was made in
    prompt = getattr(request, "prompt", None)
    if part == PROMPT:
        if prompt is None or panel is not create:
            return ["This picture has no prompt."]
        create.vm.prompt.set(prompt.positive)
        create.vm.negative.set(prompt.negative)
        return []
    seed_edit = getattr(panel, "seed", None)
    kept = seed_edit.edit.text() if seed_edit is not None else None
    if part == SEED_ONLY:
        if seed_edit is None or meta.seed is None:
            return ["This picture does not say its seed."]
        seed_edit.set_seed(meta.seed)
        return []
    panel.reopen(request, meta.seed)
    if part != ALL and seed_edit is not None:  # all but the seed
        seed_edit.edit.setText(kept)
    return [pinned] if pinned else []
