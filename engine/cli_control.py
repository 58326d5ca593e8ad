"""`generate`'s control options on the command line (issue 22):

    --control MODEL[,image=PATH][,pre=NAME][,weight=W][,start=S][,end=E][,mode=M]
              [,resize=R][,SETTING=VALUE…]        (repeatable)
    --ip-adapter MODEL,image=PATH[,weight=W]      (repeatable)

MODEL is a ControlNet / T2I-Adapter / IP-Adapter file or folder (an existing one is named
by absolute path), or the name of one in the model folders (--lora-dir's, else the app's
Settings). A unit's image defaults to --image's; `pre=none` (the default) takes the image
as the map. SETTING is one of the preprocessor's (canny: low, high). The depth, openpose
and segmentation preprocessors run the annotator file annotator=PATH, else the one found
in the model folders. Bad syntax is one BadInput sentence, so `generate` exits as other
bad input. Torch-free.
"""

from __future__ import annotations

import argparse
from functools import cached_property
from pathlib import Path

from engine.api.control_settings import full_settings, settings_of
from engine.api.errors import BadInput
from engine.api.image_parts import (
    CONTROL_MODES,
    CONTROL_PREPROCESSORS,
    RESIZE_MODES,
    ControlUnit,
    IpAdapter,
)
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.cli_image import image_ref

_UNIT_KEYS = ("image", "pre", "weight", "start", "end", "mode", "resize", "annotator")
_NUMBERS = ("weight", "start", "end")
CONTROL_HELP = (
    "a ControlNet or T2I-Adapter file or folder guiding the image, with its options after "
    "commas: image=PATH (default: --image's), pre=NAME (the preprocessor: "
    f"{', '.join(CONTROL_PREPROCESSORS)}; default none, the image is the map), weight=W "
    "(0-2, default 1), annotator=PATH (depth, openpose and segmentation's network file; "
    "default: the one in the model folders), start=S and end=E (fractions of the steps, "
    "default 0 and 1), "
    f"mode=M ({', '.join(CONTROL_MODES)}), resize=R ({', '.join(RESIZE_MODES)}), and the "
    "preprocessor's settings (canny: low=100,high=200); repeatable, e.g. "
    "--control control_canny.safetensors,image=edges.png,pre=canny,low=50"
)


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Control (ControlNet, T2I-Adapter, IP-Adapter)")
    group.add_argument(
        "--control",
        action="append",
        metavar="MODEL[,image=PATH][,pre=NAME][,weight=W][,start=S][,end=E][,mode=M][,resize=R]",
        help=CONTROL_HELP,
    )
    group.add_argument(
        "--ip-adapter",
        action="append",
        metavar="MODEL,image=PATH[,weight=W]",
        help="an IP-Adapter file: the image guides the style and content at weight W "
        "(0-2, default 1); its CLIP vision encoder is found in the model folders; repeatable",
    )


class _Folders:
    """The model folders, scanned only when a name has to be looked up."""

    def __init__(self, given: list[str]) -> None:
        self.given = [Path(f).expanduser().absolute() for f in given]

    @cached_property
    def paths(self) -> tuple[Path, ...]:
        if self.given:
            return tuple(self.given)
        from engine.cli_names import saved_models_dirs

        return tuple(saved_models_dirs())

    @cached_property
    def control_models(self) -> dict[str, Path]:
        from engine.library.detect import ModelKind
        from engine.library.scan import scan_library

        kinds = (ModelKind.CONTROLNET, ModelKind.T2I_ADAPTER, ModelKind.IP_ADAPTER)
        named: dict[str, Path] = {}
        for entry in scan_library(self.paths):
            if entry.kind in kinds and not entry.problem:
                named.setdefault(entry.name, entry.path)
                named.setdefault(entry.path.name, entry.path)
        return named


def control_parts(args: argparse.Namespace) -> dict[str, object]:
    """The request's `control` and `ip_adapters` ({} when neither option is given)."""
    folders = _Folders(getattr(args, "lora_dir", None) or [])
    parts: dict[str, object] = {}
    if args.control:
        parts["control"] = tuple(_unit(spec, args.image, folders) for spec in args.control)
    if args.ip_adapter:
        parts["ip_adapters"] = tuple(_adapter(spec, folders) for spec in args.ip_adapter)
    return parts


def _split(option: str, spec: str, folders: _Folders) -> tuple[str, dict[str, str]]:
    model, *items = [item.strip() for item in spec.split(",")]
    if not model or "=" in model:
        raise BadInput(f"{option} {spec!r} does not start with the model: give its file first.")
    given: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise BadInput(f"{option} {spec!r}: {item!r} is not NAME=VALUE.")
        if key in given:
            raise BadInput(f"{option} {spec!r} gives {key} twice.")
        given[key] = value
    return _model_id(model, folders), given


def _model_id(text: str, folders: _Folders) -> str:
    """An existing file or folder by absolute path; else a library name's file; else
    the text as given (the job then says the model is not there)."""
    path = Path(text).expanduser()
    if path.exists():
        return str(path.absolute())
    if "/" in text or "\\" in text:
        return text
    found = folders.control_models.get(text)
    return str(found) if found else text


def _annotator(pre: str, given: str | None, folders: _Folders) -> ModelRef | None:
    from engine.library.annotators import ANNOTATORS, annotator_file

    if given:
        return ModelRef(Family.SD, str(Path(given).expanduser().absolute()))
    if pre not in ANNOTATORS:
        return None
    found = annotator_file(pre, folders.paths)
    return ModelRef(Family.SD, str(found)) if found else None  # None: the job's sentence


def _number(option: str, key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise BadInput(f"{option} {key}={value!r} is not a number.") from None


def _unit(spec: str, source_image: str | None, folders: _Folders) -> ControlUnit:
    model, given = _split("--control", spec, folders)
    pre = given.pop("pre", "none")
    if pre not in CONTROL_PREPROCESSORS:
        raise BadInput(f"--control pre={pre!r} is not one of: {', '.join(CONTROL_PREPROCESSORS)}.")
    names = [s.name for s in settings_of(pre)]
    settings = {k: _number("--control", k, given.pop(k)) for k in list(given) if k in names}
    unknown = [k for k in given if k not in _UNIT_KEYS]
    if unknown:
        can = ", ".join([*_UNIT_KEYS, *names])
        raise BadInput(f"--control does not take {unknown[0]}=: it takes {can}.")
    image = given.get("image") or source_image
    if not image:
        raise BadInput(
            f"--control {spec!r} has no image: add image=PATH, or give --image to use its."
        )
    numbers = {k: _number("--control", k, given[k]) for k in _NUMBERS if k in given}
    return ControlUnit(
        model=ModelRef(Family.SD, model),
        image=image_ref(image),
        preprocessor=pre,
        settings=full_settings(pre, settings),
        mode=given.get("mode", "balanced"),
        resize_mode=given.get("resize", "crop-and-resize"),
        annotator=_annotator(pre, given.get("annotator"), folders),
        **numbers,
    )


def _adapter(spec: str, folders: _Folders) -> IpAdapter:
    model, given = _split("--ip-adapter", spec, folders)
    unknown = [k for k in given if k not in ("image", "weight")]
    if unknown:
        raise BadInput(f"--ip-adapter does not take {unknown[0]}=: it takes image, weight.")
    if "image" not in given:
        raise BadInput(f"--ip-adapter {spec!r} has no image: add image=PATH.")
    weight = _number("--ip-adapter", "weight", given["weight"]) if "weight" in given else 1.0
    return IpAdapter(ModelRef(Family.SD, model), image_ref(given["image"]), weight)
