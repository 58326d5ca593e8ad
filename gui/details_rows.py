"""The details dock's rows for our own recipes beyond text to image: a family's sample
options, a DDPM's sampling, an upscale's source and model, seeds, hashes and versions."""

from __future__ import annotations

from typing import Any

from engine.api.requests import UpscaleRequest
from engine.api.sample_options import DiffusionSampleOptions, SampleOptions, scalar_fields
from engine.store.marks import MAX_STARS, Marks


def option_rows(options: SampleOptions) -> list[tuple[str, Any]]:
    """A family's own sample options (Gibbs steps, temperature…): one row each, titled
    as the Sample tab titles its control."""
    return [
        (item.metadata.get("title", item.name.replace("_", " ").capitalize()), value)
        for item, _kind in scalar_fields(type(options))
        if (value := getattr(options, item.name)) not in (None, item.metadata.get("unset"))
    ]


def diffusion_rows(options: DiffusionSampleOptions, recipe: dict) -> list[tuple[str, Any]]:
    """A DDPM sample's sampling settings: DDIM steps and eta, the class, the guidance."""
    rows: list[tuple[str, Any]] = [("Steps", f"{options.steps} (DDIM, eta {options.eta:g})")]
    names = recipe.get("class_names") or recipe.get("labels")
    name = recipe.get("class_name", recipe.get("label"))
    if options.label is not None:
        rows.append(("Class", name if name is not None else options.label))
    elif isinstance(names, list) and len(names) > 1:
        rows.append(("Class", "one per sample, from its seed: " + ", ".join(map(str, names))))
    elif name is not None:
        rows.append(("Class", f"{name} (from the seed)"))
    guidance = recipe.get("guidance")  # only class-conditional models are guided
    if isinstance(guidance, (int, float)):
        default = " (the model's default)" if options.guidance is None else ""
        rows.append(("Guidance", f"{guidance:g}{default}"))
    return rows


def upscale_rows(request: UpscaleRequest, recipe: dict) -> list[tuple[str, Any]]:
    """An upscaled image: from which image, with what, by how much."""
    parent = recipe.get("parent") or {}
    source = recipe.get("source_size")
    model = request.model.name
    if recipe.get("architecture"):
        model += f" ({recipe['architecture']}, ×{recipe.get('model_scale', '?')})"
    scale = recipe.get("scale") or request.scale
    tile = recipe.get("tile")
    notes = recipe.get("notes") or []
    return [
        ("Upscaled from", parent.get("path") or request.image.path),
        ("Original size", f"{source[0]}×{source[1]}" if isinstance(source, list) else None),
        ("Upscaler", model),
        ("Factor", f"×{scale:g}" if isinstance(scale, int | float) and scale else None),
        ("Tiles", ("whole image" if tile == 0 else f"{tile} px") if tile is not None else None),
        ("Notes", "\n".join(map(str, notes)) if notes else None),
    ]


def seed_range(seeds: list) -> str:
    ints = [s for s in seeds if isinstance(s, int)]
    if ints and ints == list(range(ints[0], ints[0] + len(ints))):
        return f"{ints[0]} to {ints[-1]} (one per sample)"
    return ", ".join(str(s) for s in seeds)


def short_hash(recipe: dict) -> str:
    sha = recipe.get("model_sha256")
    if not isinstance(sha, str):
        return ""
    kind = "file" if recipe.get("model_hash_kind", "file") == "file" else "folder"
    return f"{sha[:10]} ({kind} sha256)"


def versions(recipe: dict) -> str:
    parts = [f"{name} {recipe[name]}" for name in ("torch", "diffusers") if recipe.get(name)]
    return ", ".join(parts)


def marks_rows(marks: Marks | None) -> list[tuple[str, str]]:
    """The picture's stars (always, so the keys 0-5 have something to change) and boards."""
    if marks is None:
        return []
    rows = [("Stars", "★" * marks.stars + "☆" * (MAX_STARS - marks.stars))]
    return rows + ([("Boards", ", ".join(marks.boards))] if marks.boards else [])
