"""What an image's details say: (label, value) rows, in the order people look for them.

Our recipe's rows for each kind of request, other tools' A1111 `parameters`, and what
engine.store.foreign read of any other tool's metadata. Plain data: the dock
(gui/details_panel.py) lays the rows out.
"""

from __future__ import annotations

from typing import Any

from engine.api.families import title_of
from engine.api.naming import model_name
from engine.api.outcomes import WORKER_KEY
from engine.api.requests import (
    ArithmeticRequest,
    DiffuseRequest,
    InterpolateRequest,
    LatentWalkRequest,
    ReconstructRequest,
    SampleRequest,
    Txt2ImgRequest,
    UpscaleRequest,
    XyzPlotRequest,
    image_name,
)
from engine.api.sample_options import DiffusionSampleOptions
from engine.store import ImageMetadata
from engine.store.foreign import ForeignRead
from gui.details_foreign import A1111_TEXT_TOOLS, MADE_BY, NOTES, foreign_rows
from gui.details_image_parts import image_part_rows
from gui.details_rows import (
    diffusion_rows,
    option_rows,
    seed_range,
    short_hash,
    upscale_rows,
    versions,
)
from gui.details_xyz import cell_text, plot_text
from gui.picture_info import tool_title


def describe(meta: ImageMetadata) -> list[tuple[str, str]]:
    """(label, value) rows for the details panel, in the order people look for them."""
    if meta.recipe is not None:
        return _from_recipe(meta)
    return _from_parameters(meta)


def describe_picture(meta: ImageMetadata, read: ForeignRead | None) -> list[tuple[str, str]]:
    """describe(), with what engine.store.foreign read when the picture has no recipe."""
    if read is None or meta.recipe is not None:
        return describe(meta)
    if meta.parameters_text and read.tool in A1111_TEXT_TOOLS:
        notes = [(NOTES, "\n".join(read.notes))] if read.notes else []
        return [(MADE_BY, tool_title(read.tool)), *describe(meta), *notes]
    return foreign_rows(read, (meta.width, meta.height))


def _from_recipe(meta: ImageMetadata) -> list[tuple[str, str]]:
    recipe, request = meta.recipe or {}, meta.request
    rows: list[tuple[str, Any]] = []
    if isinstance(request, XyzPlotRequest):  # a plot's grid: its axes, then its base
        rows.append(("X/Y/Z plot", plot_text(request)))
        request = request.base
    if isinstance(request, Txt2ImgRequest):
        rows += [
            ("Prompt", request.prompt.positive or "(none)"),
            ("Negative prompt", request.prompt.negative or "(none)"),
            ("Template", request.prompt_template or None),  # the wildcards as written
            ("Negative template", request.negative_template or None),
            ("Model", request.model.name),
            ("Size", str(request.size)),
            ("Steps", request.sampling.steps),
            (
                "Sampler",
                request.sampling.sampler or f"model default ({recipe.get('sampler', '?')})",
            ),
            ("CFG scale", f"{request.sampling.cfg_scale:g}"),
            ("Seed", meta.seed),
            ("Plot cell", cell_text(recipe)),
            ("Batch", f"image {(meta.index or 0) + 1} of {request.batch_size}")
            if not isinstance(request, LatentWalkRequest)
            else ("Latent walk", _walk_text(request)),
            ("LoRAs", ", ".join(f"{lora.name} (weight {lora.weight:g})" for lora in request.loras)),
            ("VAE", model_name(request.vae) if request.vae else None),
            ("Embeddings", ", ".join(model_name(path) for path in request.embeddings)),
            ("Clip skip", request.clip_skip if request.clip_skip > 1 else None),
            ("Format", _model_format(recipe)),
            *image_part_rows(request, recipe),
        ]
    elif isinstance(request, SampleRequest):
        rows += [
            ("Model", request.model.name),
            ("Family", title_of(request.model.family)),
            ("Seed", meta.seed),
            ("Samples", request.count),
            ("Latent code", _code_text(request.latent) if request.latent else None),
        ]
        if recipe.get("seeds"):
            rows.append(("Seeds", seed_range(recipe["seeds"])))
        if isinstance(request.options, DiffusionSampleOptions):
            rows += diffusion_rows(request.options, recipe)
        else:  # another family's own options, as its options class titles them
            rows += option_rows(request.options)
    elif isinstance(request, UpscaleRequest):
        rows += upscale_rows(request, recipe)
    elif isinstance(request, InterpolateRequest):
        rows += [
            ("Model", request.model.name),
            ("Family", title_of(request.model.family)),
            ("From", request.end_names()[0]),
            ("To", request.end_names()[1]),
            ("Frames", f"{request.frames}, {request.mode}"),
        ]
    elif isinstance(request, ArithmeticRequest):
        rows += [
            ("Model", request.model.name),
            ("Family", title_of(request.model.family)),
            ("Arithmetic", f"seed {request.a} − seed {request.b} + seed {request.c}"),
        ]
    elif isinstance(request, ReconstructRequest):
        rows += [
            ("Model", request.model.name),
            ("Reconstructed", image_name(request.image.path)),
            (
                "Mean error",
                f"{recipe['mean_abs_error']:.4f}" if "mean_abs_error" in recipe else None,
            ),
            ("Fitted", recipe.get("note") or None),
        ]
    elif isinstance(request, DiffuseRequest):
        how = (
            "ancestral DDPM, all T steps"
            if request.ancestral
            else (f"DDIM, {request.steps} steps, η {request.eta:g}")
        )
        rows += [
            ("Model", request.model.name),
            ("Seed", request.seed),
            ("Sampler", how),
            ("Filmstrip", _filmstrip_text(recipe) if meta.index == 0 else None),
        ]
    else:
        rows.append(("Made by", f"a {meta.kind} job this version cannot read back"))
    rows += [
        ("Size", f"{meta.width}×{meta.height}")
        if not isinstance(request, Txt2ImgRequest)
        else None,
        ("Created", meta.created.strftime("%Y-%m-%d %H:%M:%S") if meta.created else "unknown"),
        ("Model hash", short_hash(recipe)),
        ("Device", _device_text(recipe)) if recipe.get("device") else None,
        ("Made on", recipe.get(WORKER_KEY)),  # a cluster's worker; here: no row
        ("Versions", versions(recipe)),
    ]
    return [
        (label, str(value)) for label, value in (r for r in rows if r) if value not in (None, "")
    ]


def _device_text(recipe: dict) -> str:
    """Where it was computed, in which numbers, and (CUDA) whether weights were offloaded."""
    parts = [recipe["device"], recipe.get("precision") or recipe.get("dtype", "?")]
    offload = recipe.get("offload")
    parts += [f"{offload} offload"] if offload not in (None, "none") else []
    compiled = recipe.get("compiled")  # present where compiling was asked for
    parts += [] if compiled is None else ["compiled UNet" if compiled else "not compiled"]
    return " · ".join(parts)


def _walk_text(request: LatentWalkRequest) -> str:
    walk = (
        f"seed {request.sampling.seed} → {request.to_seed}, {request.frames} frames, {request.mode}"
    )
    return walk + (f", to the prompt “{request.to_prompt}”" if request.to_prompt else "")


def _code_text(code: tuple[float, ...]) -> str:
    """A kept slider code, shortened: its recipe holds every value."""
    shown = ", ".join(f"{v:.2f}" for v in code[:4])
    return f"{len(code)} values ({shown}{', …' if len(code) > 4 else ''})"


def _filmstrip_text(recipe: dict) -> str | None:
    steps = recipe.get("filmstrip_steps")
    if not isinstance(steps, list) or not steps:
        return None
    return f"x_t over predicted x_0 at steps {', '.join(map(str, steps))}"


def _model_format(recipe: dict) -> str | None:
    """'SD 1.x · single file' from what the runner recorded."""
    titles = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}
    architecture = titles.get(str(recipe.get("architecture")))
    parts = [p for p in (architecture, recipe.get("model_format")) if p]
    return " · ".join(parts) or None


def _from_parameters(meta: ImageMetadata) -> list[tuple[str, str]]:
    params = dict(meta.parameters)
    if not params and not meta.parameters_text:
        return [
            ("Made by", "another program (this image carries no parameters)"),
            ("Size", f"{meta.width}×{meta.height}"),
        ]
    rows = [
        ("Prompt", params.pop("prompt", "") or "(none)"),
        ("Negative prompt", params.pop("negative_prompt", "") or "(none)"),
    ]
    width, height = params.pop("width", meta.width), params.pop("height", meta.height)
    known = [
        ("steps", "Steps"),
        ("sampler", "Sampler"),
        ("cfg_scale", "CFG scale"),
        ("seed", "Seed"),
        ("model", "Model"),
    ]
    for key, label in known:
        if key in params:
            rows.append((label, str(params.pop(key))))
    rows.append(("Size", f"{width}×{height}"))
    rows += [(key.replace("_", " ").capitalize(), str(value)) for key, value in params.items()]
    return rows
