"""Create's LoRA and Embeddings menus: insert a file of the model folders into the prompt.

Files made for the chosen model's family come first; those of another family are listed
after a heading, greyed out with their family (as A1111's extra-networks tabs and InvokeAI
do), so the user sees they exist and why they are not offered; a job would refuse them.
Files whose family the header does not show are offered with the fitting ones.
The menus are filled from the last scan when opened: no disk access.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QPlainTextEdit, QToolButton

from engine.library.detect import ModelKind, SdFamily
from engine.library.prompt_refs import missing_loras
from engine.library.scan import LibraryEntry

NOUNS = {ModelKind.LORA: "LoRAs", ModelKind.EMBEDDING: "embeddings"}


def menu_button(text: str, tip: str, fill: Callable[[QMenu], None]) -> QToolButton:
    """A button whose menu is filled by `fill` each time it opens."""
    button = QToolButton(text=text)
    button.setToolTip(tip)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    menu.aboutToShow.connect(lambda: fill(menu))
    button.setMenu(menu)
    return button


def fill_menu(
    menu: QMenu,
    entries: list[LibraryEntry],
    kind: ModelKind,
    family: SdFamily | None,
    insert: Callable[[str], None],
) -> None:
    """The usable files of `kind`: the chosen family's first, then the others, greyed."""
    menu.clear()
    files = [e for e in entries if e.kind is kind and not e.problem]
    fitting = [e for e in files if family is None or e.family in (None, family)]
    others = [e for e in files if e not in fitting]
    if not fitting:
        menu.addAction(f"No {NOUNS[kind]} in the model folders for this model").setEnabled(False)
    for entry in fitting:
        label = f"{entry.name} · {entry.detected.label}" if entry.family else entry.name
        menu.addAction(label, lambda name=entry.name: insert(name))
    if others:
        menu.addSection("Made for other model families")
    for entry in others:
        menu.addAction(f"{entry.name} · {entry.detected.label}").setEnabled(False)


def insert_word(edit: QPlainTextEdit, word: str) -> None:
    """`word` at the cursor, with a space before it when it would touch the text."""
    cursor = edit.textCursor()
    before = edit.toPlainText()[: cursor.position()]
    space = " " if before and not before.endswith((" ", "\n")) else ""
    cursor.insertText(f"{space}{word}")
    edit.setFocus()


def unknown_loras(text: str, entries: list[LibraryEntry]) -> str | None:
    """What the prompt's LoRA tags name that the model folders lack, as a phrase."""
    missing = missing_loras(text, entries)
    return f"no LoRA named {', '.join(missing)} in the model folders" if missing else None
