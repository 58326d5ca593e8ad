"""Control units in AUTOMATIC1111's `parameters` text, both ways, as sd-webui-controlnet
writes them (issue 22): one `ControlNet N` field per unit, its value a quoted list of
`Key: value` pairs, e.g.

    ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1,
    Resize Mode: Crop and Resize, Low Vram: False, Processor Res: 512, Threshold A: 100,
    Threshold B: 200, Guidance Start: 0, Guidance End: 1, Pixel Perfect: False,
    Control Mode: Balanced"

(on one line). The extension leaves a setting out when its slider is hidden (value -1);
so do we for a preprocessor without settings. An IP-Adapter is a unit there too (module
`ip-adapter_clip_h`), written after the control units. The preprocessors are named by
the extension's module names; reading takes those and their variants (`depth_leres`,
`lineart_realistic`…) back to ours, with a note where ours differs.

The control image is not in the text: read back, each unit's image is empty and named in
`missing`, as the source image is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from engine.api.control_settings import settings_of
from engine.api.image_parts import ControlUnit, IpAdapter
from engine.api.kinds import Family
from engine.api.parts import ImageRef, ModelRef

MODULES = {
    "none": "none",
    "invert": "invert",
    "canny": "canny",
    "softedge": "softedge_pidinet",
    "lineart": "lineart_standard",
    "scribble": "scribble_xdog",
    "color": "t2ia_color_grid",
    "shuffle": "shuffle",
    "tile": "tile_resample",
    "blur": "blur_gaussian",
    "inpaint": "inpaint_only",
    "depth": "depth_midas",
    "openpose": "openpose",
    "segmentation": "seg_ofade20k",
}
IP_ADAPTER_MODULE = "ip-adapter_clip_h"
# A module's first words → our preprocessor, for the extension's many variants.
_PREFIXES = (
    ("canny", "canny"),
    ("softedge", "softedge"),
    ("hed", "softedge"),
    ("pidinet", "softedge"),
    ("lineart", "lineart"),
    ("scribble", "scribble"),
    ("t2ia_color", "color"),
    ("color", "color"),
    ("shuffle", "shuffle"),
    ("tile", "tile"),
    ("blur", "blur"),
    ("inpaint", "inpaint"),
    ("depth", "depth"),
    ("dw_openpose", "openpose"),
    ("openpose", "openpose"),
    ("seg", "segmentation"),
    ("invert", "invert"),
    ("none", "none"),
)
RESIZE_TEXT = {
    "just-resize": "Just Resize",
    "crop-and-resize": "Crop and Resize",
    "resize-and-fill": "Resize and Fill",
}
MODE_TEXT = {
    "balanced": "Balanced",
    "prompt": "My prompt is more important",
    "control": "ControlNet is more important",
}
PROCESSOR_RES = 512  # the extension's default; our preprocessors work at the image's size
_MODEL_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")


class WithControl(Protocol):
    @property
    def control(self) -> tuple[ControlUnit, ...]: ...
    @property
    def ip_adapters(self) -> tuple[IpAdapter, ...]: ...


# ---------------------------------------------------------------- writing


def control_params(request: WithControl, hashes: dict[str, str]) -> list[tuple[str, object]]:
    """`ControlNet 0`… for each unit, then each IP-Adapter; [] without any (so a recipe
    without control keeps its text exactly). `hashes`: a model's short hash by its id."""
    texts = [_unit_text(unit, hashes.get(unit.model.id)) for unit in request.control]
    texts += [
        _adapter_text(adapter, hashes.get(adapter.model.id)) for adapter in request.ip_adapters
    ]
    return [(f"ControlNet {i}", text) for i, text in enumerate(texts)]


def _unit_text(unit: ControlUnit, short_hash: str | None) -> str:
    settings = [unit.setting(s.name, s.default) for s in settings_of(unit.preprocessor)]
    pairs: list[tuple[str, object]] = [
        ("Module", MODULES[unit.preprocessor]),
        ("Model", model_text(unit.model.id, short_hash)),
        ("Weight", _number(unit.weight)),
        ("Resize Mode", RESIZE_TEXT[unit.resize_mode]),
        ("Low Vram", False),
    ]
    if unit.preprocessor != "none":
        pairs.append(("Processor Res", PROCESSOR_RES))
    for name, value in zip(("Threshold A", "Threshold B"), settings, strict=False):
        pairs.append((name, _number(value)))
    pairs += [
        ("Guidance Start", _number(unit.start)),
        ("Guidance End", _number(unit.end)),
        ("Pixel Perfect", False),
        ("Control Mode", MODE_TEXT[unit.mode]),
    ]
    return ", ".join(f"{key}: {value}" for key, value in pairs)


def _adapter_text(adapter: IpAdapter, short_hash: str | None) -> str:
    pairs: list[tuple[str, object]] = [
        ("Module", IP_ADAPTER_MODULE),
        ("Model", model_text(adapter.model.id, short_hash)),
        ("Weight", _number(adapter.weight)),
        ("Resize Mode", RESIZE_TEXT["crop-and-resize"]),
        ("Low Vram", False),
        ("Guidance Start", 0),
        ("Guidance End", 1),
        ("Pixel Perfect", False),
        ("Control Mode", MODE_TEXT["balanced"]),
    ]
    return ", ".join(f"{key}: {value}" for key, value in pairs)


def model_text(model_id: str, short_hash: str | None) -> str:
    """The extension's model name: the file's (or folder's) name without its suffix,
    then `[hash]` when known. Commas and colons, which would break the text, go."""
    name = model_id.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    for suffix in _MODEL_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    name = name.replace(",", " ").replace(":", " ")
    return f"{name} [{short_hash[:8]}]" if short_hash else name


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 4)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class A1111Control:
    control: tuple[ControlUnit, ...] = ()
    ip_adapters: tuple[IpAdapter, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def control_from_parameters(params: dict[str, Any]) -> A1111Control:
    """The units of a parsed A1111 text (keys `controlnet_0`…, in their order). The
    models are named as the text names them (without the hash): the GUI finds them."""
    control: list[ControlUnit] = []
    adapters: list[IpAdapter] = []
    missing: list[str] = []
    notes: list[str] = []
    keys = sorted(
        (k for k in params if k.startswith("controlnet_") and k[11:].isdigit()),
        key=lambda k: int(k[11:]),
    )
    for key in keys:
        fields = unit_fields(str(params[key]))
        if not fields.get("model") or fields.get("model", "").lower() == "none":
            continue  # a unit the extension listed but did not use
        module = fields.get("module", "none").strip()
        if module.lower().startswith("ip-adapter"):
            adapters.append(_adapter(fields))
            missing.append("IP-Adapter's image")
            continue
        control.append(_unit(fields, module, notes))
        missing.append(f"control image of unit {len(control)}")
    return A1111Control(tuple(control), tuple(adapters), tuple(missing), tuple(notes))


def unit_fields(text: str) -> dict[str, str]:
    """`Module: canny, Model: x [h], …` as {"module": "canny", "model": "x [h]", …}."""
    fields = {}
    for item in text.split(","):
        key, sep, value = item.partition(":")
        if sep:
            fields["_".join(key.strip().lower().split())] = value.strip()
    return fields


def _unit(fields: dict[str, str], module: str, notes: list[str]) -> ControlUnit:
    preprocessor = preprocessor_of(module)
    if preprocessor is None:
        notes.append(
            f"The preprocessor {module!r} is not one Latent Studio has: the image is taken "
            "as the map (none); choose another before generating."
        )
        preprocessor = "none"
    thresholds = [_float(fields.get(k)) for k in ("threshold_a", "threshold_b")]
    settings = tuple(
        (setting.name, value)
        for setting, value in zip(settings_of(preprocessor), thresholds, strict=False)
        if value is not None and value != -1
    )
    resize_of = {text.lower(): ours for ours, text in RESIZE_TEXT.items()}
    mode_of = {text.lower(): ours for ours, text in MODE_TEXT.items()}
    return ControlUnit(
        model=ModelRef(Family.SD, _model_name(fields["model"])),
        image=ImageRef("", ""),
        weight=_float(fields.get("weight"), 1.0),
        start=_float(fields.get("guidance_start"), 0.0),
        end=_float(fields.get("guidance_end"), 1.0),
        preprocessor=preprocessor,
        settings=settings,
        mode=mode_of.get(fields.get("control_mode", "").lower(), "balanced"),
        resize_mode=resize_of.get(fields.get("resize_mode", "").lower(), "crop-and-resize"),
    )


def _adapter(fields: dict[str, str]) -> IpAdapter:
    return IpAdapter(
        ModelRef(Family.SD, _model_name(fields["model"])),
        ImageRef("", ""),
        _float(fields.get("weight"), 1.0),
    )


def preprocessor_of(module: str) -> str | None:
    """Ours for an sd-webui-controlnet module name (None: none of ours is like it)."""
    module = module.strip().lower()
    for ours, theirs in MODULES.items():
        if module == theirs:
            return ours
    return next((ours for prefix, ours in _PREFIXES if module.startswith(prefix)), None)


def _model_name(text: str) -> str:
    name, _, _hash = text.partition(" [")
    return name.strip()


def _float(text: str | None, default: float | None = None) -> float | None:
    try:
        return float(text) if text is not None else default
    except ValueError:
        return default
