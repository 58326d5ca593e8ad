"""*Use these parameters*, all or in part: the details dock's split button, and filling
Create from another tool's picture.

All, All but the seed, Prompt only (prompt and negative) and Seed only work for our own
pictures and for every other tool's. What Create cannot take is named, never guessed:
a model that is not in the model folders, a sampler Latent Studio does not have, a LoRA
it cannot find, a seed beyond its range, the source image a text cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from engine.api.a1111_request import request_from_parameters
from engine.api.limits import SEED
from engine.api.prompt_syntax import lora_tags
from engine.library.detect import ModelKind
from engine.library.prompt_refs import missing_loras
from engine.library.scan import LibraryEntry
from engine.store import ImageMetadata
from engine.store.foreign import ForeignRead, Lora
from engine.store.foreign.as_a1111 import a1111_params
from gui.details_foreign import A1111_TEXT_TOOLS
from gui.viewmodels.create import CreateViewModel, missing_sentence
from gui.viewmodels.fields import seed_text

ALL, ALL_BUT_SEED, PROMPT, SEED_ONLY = "all", "all_but_seed", "prompt", "seed"
PARTS = (
    (ALL, "All"),
    (ALL_BUT_SEED, "All but the seed"),
    (PROMPT, "Prompt only (prompt and negative)"),
    (SEED_ONLY, "Seed only"),
)
DONE = {
    ALL: "Parameters filled in",
    ALL_BUT_SEED: "Parameters but the seed filled in",
    PROMPT: "Prompt and negative prompt filled in",
    SEED_ONLY: "Seed filled in",
}
MODEL_SUFFIXES = re.compile(r"\.(safetensors|ckpt|pt|pth|bin|gguf)$", re.IGNORECASE)


def use_button(parent: QWidget, use: Callable[[str], None]) -> QToolButton:
    """A split button: its face uses all, its arrow offers the parts."""
    button = QToolButton(parent)
    button.setText("Use these parameters")
    button.setToolTip(
        "Fill Create or the Latent Lab with this picture's settings (the arrow: only "
        "some of them). Nothing changes until you choose."
    )
    button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    button.clicked.connect(lambda: use(ALL))
    menu = QMenu(button)
    for part, title in PARTS:
        menu.addAction(title, lambda p=part: use(p))
    button.setMenu(menu)
    return button


def picture_params(meta: ImageMetadata, read: ForeignRead | None) -> tuple[dict[str, Any], tuple]:
    """What another tool's picture says, as parse_parameters' dict, and its LoRAs that are
    not tags in its prompt. A1111 text is used whole (its hires, inpaint and control keys
    too); any other tool's fields come from its reader."""
    if meta.parameters_text and (read is None or read.tool in A1111_TEXT_TOOLS):
        return dict(meta.parameters), ()
    if read is None or not read.fields:
        return {}, ()
    return a1111_params(read), read.loras


def fill_create(
    vm: CreateViewModel,
    params: dict[str, Any],
    loras: tuple[Lora, ...],
    part: str,
    entries: tuple[LibraryEntry, ...],
) -> list[str]:
    """Fill `part` of Create from another tool's parameters; returns sentences naming
    what was not used and why."""
    problems: list[str] = []
    params = dict(params)
    params["prompt"] = with_lora_tags(str(params.get("prompt", "")), loras)
    seed = params.get("seed")
    if isinstance(seed, int) and not SEED.low <= seed <= SEED.high:
        problems.append(
            f"The seed {seed} is beyond Latent Studio's {SEED.low}–{SEED.high}: not used."
        )
        params.pop("seed")
    if part == PROMPT:
        vm.prompt.set(params["prompt"])
        vm.negative.set(str(params.get("negative_prompt", "")))
    elif part == SEED_ONLY:
        if "seed" in params:
            vm.seed.set(seed_text(int(params["seed"])))
        elif not problems:
            problems.append("This picture does not say its seed.")
    else:
        kept_seed = vm.seed.value
        missing = vm.apply_parameters(params)
        if part == ALL_BUT_SEED:
            vm.seed.set(kept_seed)
        problems += _model_problem(vm, str(params.get("model") or ""), entries)
        problems += list(request_from_parameters(params).notes)
        problems += [missing_sentence(missing)] if missing else []
    absent = missing_loras(params["prompt"], entries) if part != SEED_ONLY else []
    if absent:
        names = ", ".join(absent)
        problems.append(f"No LoRA named {names} in the model folders: add it, or edit the tag.")
    return problems


def with_lora_tags(prompt: str, loras: tuple[Lora, ...]) -> str:
    """A tool that keeps LoRAs apart from the prompt (ComfyUI's loaders): as <lora:…> tags,
    as Create reads them; a LoRA already tagged in the prompt is not added twice."""
    tagged = {tag.name.lower() for tag in lora_tags(prompt)}
    extra = [
        f"<lora:{name}:{lora.weight:g}>"
        for lora in loras
        if (name := model_stem(lora.name)).lower() not in tagged
    ]
    return " ".join([prompt, *extra]) if extra and prompt else " ".join([prompt, *extra]).strip()


def model_stem(name: str) -> str:
    """'SDXL\\juggernaut_v9.safetensors' → 'juggernaut_v9': how model folders name it."""
    last = PureWindowsPath(PurePosixPath(name).name).name
    return MODEL_SUFFIXES.sub("", last)


def find_model(name: str, entries: tuple[LibraryEntry, ...]) -> LibraryEntry | None:
    stem = model_stem(name).lower()
    return next(
        (
            e
            for e in entries
            if e.kind is ModelKind.CHECKPOINT and not e.problem and e.name.lower() == stem
        ),
        None,
    )


def _model_problem(vm: CreateViewModel, name: str, entries: tuple[LibraryEntry, ...]) -> list[str]:
    """The picture's model chosen if the model folders have it; otherwise named."""
    if not name:
        return ["This picture does not name its model: the chosen one stays."]
    entry = find_model(name, entries)
    if entry is None:
        return [
            f"The model '{name}' is not in the model folders: the chosen one stays "
            "(add its folder in Settings → Models folders)."
        ]
    vm.model.set(str(entry.path))
    return []


def done_sentence(part: str, problems: list[str]) -> str:
    """The status bar's line after a fill: what was filled, then what was not used."""
    head = DONE.get(part, DONE[ALL])
    if not problems:
        return f"{head}: press Generate to make it again."
    return f"{head}. " + " ".join(problems)
