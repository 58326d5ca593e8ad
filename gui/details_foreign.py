"""The details dock's rows for a picture another tool made: what was read, in our words,
what could not be mapped (its names; the raw values in a tooltip) and the reader's notes.

A1111-style text keeps the dock's own rows (every key of the text is shown as it is);
every other tool's picture is shown from engine.store.foreign's ForeignRead.
"""

from __future__ import annotations

from engine.store.foreign import ForeignRead
from gui.picture_info import PictureInfo, tool_title

NOT_MAPPED = "Not mapped"
NOTES = "Notes"
MADE_BY = "Made by"
TIP_CHARS = 600  # of each raw value in the tooltip: a ComfyUI graph is pages long

# Tools whose `parameters` is A1111 text: the dock's A1111 rows show every key of it.
A1111_TEXT_TOOLS = frozenset({"a1111", "forge", "krita-ai-diffusion", "latent-studio"})

# (field, label) in the order the dock shows them; a number's text as we write it.
FIELDS = (
    ("prompt", "Prompt"),
    ("negative_prompt", "Negative prompt"),
    ("model", "Model"),
    ("size", "Size"),
    ("steps", "Steps"),
    ("sampler", "Sampler"),
    ("scheduler", "Scheduler"),
    ("cfg_scale", "CFG scale"),
    ("seed", "Seed"),
    ("loras", "LoRAs"),
    ("vae", "VAE"),
    ("clip_skip", "Clip skip"),
    ("denoising_strength", "Denoising strength"),
    ("model_hash", "Model hash"),
)


def shows_a1111_rows(info: PictureInfo) -> bool:
    read = info.foreign
    return bool(info.meta.parameters_text) and (read is None or read.tool in A1111_TEXT_TOOLS)


def foreign_rows(read: ForeignRead, pixels: tuple[int, int]) -> list[tuple[str, str]]:
    """(label, value) rows of what was read; every field the reader gave, nothing made up."""
    if read.error:
        return [(MADE_BY, "unknown: the file could not be read"), (NOTES, read.error)]
    values = {k: _text(v) for k, v in read.fields.items()}
    width, height = read.fields.get("width"), read.fields.get("height")
    if width and height:
        values["size"] = f"{width}×{height}"
        if read.pixels and read.pixels != (width, height):
            values["size"] += f" (the picture is {read.pixels[0]}×{read.pixels[1]})"
    elif pixels[0]:
        values["size"] = f"{pixels[0]}×{pixels[1]} (the picture's own)"
    if read.loras:
        values["loras"] = ", ".join(f"{x.name} (weight {x.weight:g})" for x in read.loras)
    made_by = tool_title(read.tool) if read.tool else "another program (no parameters read)"
    rows = [(MADE_BY, made_by)]
    rows += [(label, values[key]) for key, label in FIELDS if values.get(key)]
    rows += extra_rows(read)
    return rows


def extra_rows(read: ForeignRead) -> list[tuple[str, str]]:
    """What could not be mapped (by name) and the notes, for any tool's picture."""
    rows = []
    if read.unmapped:
        rows.append((NOT_MAPPED, ", ".join(read.unmapped)))
    if read.notes:
        rows.append((NOTES, "\n".join(read.notes)))
    return rows


def unmapped_tip(read: ForeignRead | None) -> str:
    """The raw values of what could not be mapped, each cut to TIP_CHARS."""
    if read is None or not read.unmapped:
        return ""
    parts = [f"{name}: {_cut(value)}" for name, value in read.unmapped.items()]
    return "As the picture has them:\n\n" + "\n\n".join(parts)


def _cut(value: str) -> str:
    return value if len(value) <= TIP_CHARS else value[:TIP_CHARS] + " …"


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
