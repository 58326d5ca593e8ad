"""Reading the parameters out of pictures made by other tools (issue 24).

`read_picture(path)` returns one ForeignRead: which tool wrote the picture, its
parameters in our words (engine.store.foreign.result.RULES), what could not be mapped
(kept raw, by name) and notes on what was refused. It never raises on a picture's
contents: a damaged, hostile or unknown one reads as notes. Torch-free, like the rest
of engine.store.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.store.foreign.picture_text import Unreadable, read_picture_text
from engine.store.foreign.registry import READERS, reader_for
from engine.store.foreign.result import Draft, ForeignRead, Lora, finish

__all__ = ["READERS", "ForeignRead", "Lora", "read_picture", "read_texts"]


def read_picture(path: Path) -> ForeignRead:
    try:
        found = read_picture_text(Path(path))
    except Unreadable as exc:
        return ForeignRead(tool="", fields={}, error=str(exc))
    read = read_texts(found.texts, found.pixels)
    return replace(read, notes=(*found.notes, *read.notes))


def read_texts(texts: dict[str, str], pixels: tuple[int, int] | None = None) -> ForeignRead:
    """What a picture's named texts say (its PNG chunks, or their EXIF equivalents)."""
    reader = reader_for(texts)
    if reader is None:
        draft = Draft(notes=["No known tool's parameters are in this picture."] if texts else [])
        if not texts:
            draft.notes.append("The picture carries no text at all.")
        draft.unmapped.update(texts)
        return finish(draft, pixels)
    try:
        return finish(reader.read(texts), pixels)
    except Exception as exc:  # a shape no reader foresaw: a note on the picture, never a crash
        note = f"Its {reader.tool} metadata could not be read (a reader error: {exc!r})."
        return finish(Draft(tool=reader.tool, notes=[note]), pixels)
