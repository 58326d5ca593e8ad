"""The details rows of a picture made from an image: source, strength, mask, outpaint,
hires fix, control units, and the notes the engine left (a converted or resized source).

Read from the recipe alone (the request and what the runner recorded), never from the
files it names: the details panel must not touch the disk for a row.
"""

from __future__ import annotations

from typing import Any

from engine.api.image_parts import ControlUnit, Hires, Mask, Outpaint
from engine.api.naming import model_name
from engine.api.requests import Txt2ImgRequest
from engine.api.requests.base import image_name

_CONTENT = {"latent-noise": "latent noise", "latent-nothing": "latent nothing"}


def image_part_rows(request: Txt2ImgRequest, recipe: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) rows; None values are left out by the panel."""
    rows: list[tuple[str, Any]] = []
    if (source := request.source) is not None:
        rows.append(("Source", image_name(source.image.path)))
        rows.append(("Denoising strength", _strength(source.strength, recipe)))
        if source.resize_mode != "just-resize":
            rows.append(("Resize mode", source.resize_mode.replace("-", " ")))
    if request.mask is not None:
        rows.append(("Mask", _mask_text(request.mask)))
    if request.outpaint is not None:
        rows.append(("Outpaint", _outpaint_text(request.outpaint)))
    if request.hires is not None:
        rows.append(("Hires fix", _hires_text(request.hires, recipe)))
        # The lineage has no parent to show: say why rather than show nothing.
        rows.append(("First pass", FIRST_PASS))
    if request.control:
        rows.append(("Control", "; ".join(_unit_text(unit) for unit in request.control)))
    notes = recipe.get("notes") or []
    rows.append(("Notes", "; ".join(str(note) for note in notes) or None))
    return rows


def _strength(strength: float, recipe: dict[str, Any]) -> str:
    run = recipe.get("steps_run")
    return f"{strength:g} ({run} steps run)" if isinstance(run, int) else f"{strength:g}"


def _mask_text(mask: Mask) -> str:
    parts = [image_name(mask.image.path), f"blur {mask.blur}"]
    if mask.mode == "unmasked":
        parts.append("inpaint not masked")
    parts.append(_CONTENT.get(mask.content, mask.content))
    if mask.area == "masked":
        parts.append(f"only masked, padding {mask.padding}")
    if mask.grow:
        parts.append(f"{'grown' if mask.grow > 0 else 'shrunk'} {abs(mask.grow)} px")
    if mask.colour_match:
        parts.append("colours matched")
    return " · ".join(parts)


def _unit_text(unit: ControlUnit) -> str:
    """A unit as "model · preprocessor · weight": what guided the picture, and how much."""
    return f"{model_name(unit.model.id)} · {unit.preprocessor} · weight {unit.weight:g}"


def _outpaint_text(out: Outpaint) -> str:
    sides = ", ".join(
        f"{name} +{value}"
        for name, value in zip(
            ("left", "top", "right", "bottom"),
            (out.left, out.top, out.right, out.bottom),
            strict=True,
        )
        if value
    )
    return f"{sides} · {out.fill} fill · overlap {out.feather} px"


# A hires fix draws its first pass and draws over it in one job: only the result is saved.
FIRST_PASS = "not kept (drawn over in the same job; this recipe without the hires fix draws it)"


def _hires_text(hires: Hires, recipe: dict[str, Any]) -> str:
    upscaler = hires.upscaler.id
    name = (
        upscaler.capitalize()
        if upscaler in ("latent", "lanczos", "bicubic")
        else model_name(upscaler)
    )
    text = f"×{hires.scale:g} {name} · denoise {hires.denoise:g}"
    if isinstance(run := recipe.get("hires_steps_run"), int):
        text += f" · {run} steps run"
    if isinstance(size := recipe.get("hires_size"), list) and len(size) == 2:
        text += f" → {size[0]}×{size[1]}"
    return text
