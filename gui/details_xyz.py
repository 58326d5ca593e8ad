"""The details dock's rows for an X/Y/Z plot: a grid's axes, and a cell's place in it."""

from __future__ import annotations

from typing import Any

from engine.api.errors import BadInput
from engine.api.requests import XyzPlotRequest
from engine.api.requests.xyz_axes import NOTHING, axis_type


def plot_text(request: XyzPlotRequest) -> str:
    """ "Seed: 1-2 × CFG Scale: 5, 7, 9": each axis in use, as typed."""
    parts = []
    for axis in request.axes:
        try:
            kind = axis_type(axis.type)
        except BadInput:  # a newer version's axis: named as the recipe names it
            parts.append(f"{axis.type}: {axis.values}")
            continue
        if kind.key != NOTHING:
            parts.append(f"{kind.label}: {axis.values}")
    return " × ".join(parts) or "one cell"


def cell_text(recipe: dict[str, Any]) -> str | None:
    """A cell's labels ("Seed: 2, CFG Scale: 7") from its recipe (untrusted JSON)."""
    cell = recipe.get("xyz_cell")
    labels = cell.get("labels") if isinstance(cell, dict) else None
    if not isinstance(labels, list):
        return None
    return ", ".join(str(label)[:200] for label in labels[:3] if isinstance(label, str)) or None
