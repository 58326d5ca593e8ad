"""The axis types of an X/Y/Z plot, as data: what each is called, what its values are,
how one value changes a text-to-image request, and how a grid labels it.

The labels are AUTOMATIC1111's ("Seed", "CFG Scale", "Prompt S/R"…), and a cell is
labelled as A1111 labels it: "Seed: 1", except the axes whose value says it all (a
sampler, a prompt S/R's text, a checkpoint's name). Size and LoRA weight are ours (A1111
plots a LoRA's weight by Prompt S/R on its tag). `cost` orders the loops as A1111's
does: the costliest axis to change (a checkpoint to load) is the outermost loop.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.naming import model_name
from engine.api.parts import LoraSpec, ModelRef, Size
from engine.api.prompt_syntax import LORA_TAG
from engine.api.requests.sd import Txt2ImgRequest
from engine.api.samplers import SAMPLER_NAMES
from engine.api.xyz_ranges import float_values, int_values, str_values

Apply = Callable[[Txt2ImgRequest, Any, list], Txt2ImgRequest]


@dataclass(frozen=True)
class AxisType:
    key: str  # as recipes and the command line name it
    label: str  # A1111's
    kind: str  # "int", "float" or "str": how its values text is read
    apply: Apply  # (request, value, all the axis's values) -> the cell's request
    labelled: bool = True  # "Seed: 1"; False: the value alone ("Euler a")
    cost: float = 0.0  # A1111's: how slow changing it is (the loops' order)
    hint: str = ""  # the values it takes, for a tooltip

    def values(self, text: str, axis: str) -> list:
        """The values `text` gives (ranges expanded); BadInput naming `axis` if none."""
        if self.key == NOTHING:
            return [None]
        reader = {"int": int_values, "float": float_values, "str": str_values}[self.kind]
        values = reader(text, f"{axis} ({self.label})")
        return [self.read(value, axis) for value in values]

    def read(self, value: Any, axis: str) -> Any:
        """One value checked as this axis takes it (a sampler's name, a size)."""
        reader = _READERS.get(self.key)
        return reader(value, f"{axis} ({self.label})") if reader else value

    def caption(self, value: Any) -> str:
        """A grid's label for `value`: A1111's "Seed: 1", floats to 8 decimals."""
        if self.key == NOTHING:
            return ""
        shown = _shown(self.key, value)
        return f"{self.label}: {shown}" if self.labelled else shown


def _shown(key: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{round(value, 8):g}" if abs(value) < 1e15 else repr(value)
    if key == "checkpoint":
        return model_name(str(value))
    if key == "vae":
        return model_name(str(value)) if value else "Automatic"
    if isinstance(value, Size):
        return f"{value.width}x{value.height}"
    return str(value)


# ---------------------------------------------------------------- applying one value


def _seed(request: Txt2ImgRequest, value: int, _all: list) -> Txt2ImgRequest:
    return replace(request, sampling=replace(request.sampling, seed=value))


def _steps(request: Txt2ImgRequest, value: int, _all: list) -> Txt2ImgRequest:
    return replace(request, sampling=replace(request.sampling, steps=value))


def _cfg(request: Txt2ImgRequest, value: float, _all: list) -> Txt2ImgRequest:
    return replace(request, sampling=replace(request.sampling, cfg_scale=value))


def _sampler(request: Txt2ImgRequest, value: str, _all: list) -> Txt2ImgRequest:
    return replace(request, sampling=replace(request.sampling, sampler=value))


def _checkpoint(request: Txt2ImgRequest, value: str, _all: list) -> Txt2ImgRequest:
    return replace(request, model=ModelRef(Family.SD, value))


def _vae(request: Txt2ImgRequest, value: str, _all: list) -> Txt2ImgRequest:
    return replace(request, vae=value)


def _clip_skip(request: Txt2ImgRequest, value: int, _all: list) -> Txt2ImgRequest:
    return replace(request, clip_skip=value)


def _size(request: Txt2ImgRequest, value: Size, _all: list) -> Txt2ImgRequest:
    return replace(request, size=value)


def _denoising(request: Txt2ImgRequest, value: float, _all: list) -> Txt2ImgRequest:
    if request.source is None:
        raise BadInput(
            "Denoising strength changes how much of a source image is drawn over: "
            "choose a source image, or plot another axis."
        )
    return replace(request, source=replace(request.source, strength=value))


def _lora_weight(request: Txt2ImgRequest, value: float, _all: list) -> Txt2ImgRequest:
    """Every LoRA of the prompt at `value`, in the request and in the prompt's tags."""
    if not request.loras:
        raise BadInput(
            "LoRA weight changes the weight of the prompt's LoRAs, and the prompt has "
            "none: add one (<lora:NAME:1>), or plot another axis."
        )
    loras = tuple(LoraSpec(lora.path, value) for lora in request.loras)
    positive = LORA_TAG.sub(lambda m: f"<lora:{m.group(1)}:{value:g}>", request.prompt.positive)
    prompt = replace(request.prompt, positive=positive)
    return replace(request, loras=loras, prompt=prompt)


def _prompt_sr(request: Txt2ImgRequest, value: str, values: list) -> Txt2ImgRequest:
    """A1111's search and replace: the first value is looked for, each value put in
    its place, in the prompt and the negative prompt."""
    search = values[0]
    prompt = request.prompt
    if search not in prompt.positive and search not in prompt.negative:
        raise BadInput(
            f"Prompt S/R looks for its first value, {search!r}, and neither the prompt nor "
            "the negative prompt has it. Put that text in the prompt, or start the values "
            "with text the prompt has."
        )
    return replace(
        request,
        prompt=replace(
            prompt,
            positive=prompt.positive.replace(search, value),
            negative=prompt.negative.replace(search, value),
        ),
    )


def _nothing(request: Txt2ImgRequest, _value: Any, _all: list) -> Txt2ImgRequest:
    return request


# ---------------------------------------------------------------- reading one value


def _read_sampler(value: str, axis: str) -> str:
    """A sampler by its name in any case ("euler a" is "Euler a")."""
    by_lower = {name.lower(): name for name in SAMPLER_NAMES}
    if value.lower() not in by_lower:
        known = ", ".join(SAMPLER_NAMES)
        raise BadInput(f"{axis}: unknown sampler {value!r}. Choose from: {known}.")
    return by_lower[value.lower()]


_SIZE = re.compile(r"\s*(\d+)\s*[x×*]\s*(\d+)\s*", re.IGNORECASE)


def _read_size(value: str, axis: str) -> Size:
    match = _SIZE.fullmatch(value)
    if match is None:
        raise BadInput(f"{axis}: {value!r} is not a size; write width x height: 512x768.")
    return Size(int(match[1]), int(match[2]))


def _read_vae(value: str, _axis: str) -> str:
    """A1111's "None" and "Automatic" both mean the model's own VAE here."""
    return "" if value.lower() in ("none", "automatic", "auto") else value


def _prompt(request: Txt2ImgRequest, value: str, _all: list) -> Txt2ImgRequest:
    """The whole prompt: Create's prompt matrix plots its combinations on this axis."""
    return replace(request, prompt=replace(request.prompt, positive=value))


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "sampler": _read_sampler,
    "size": _read_size,
    "vae": _read_vae,
}

NOTHING = "nothing"
AXIS_TYPES: tuple[AxisType, ...] = (
    AxisType(NOTHING, "Nothing", "str", _nothing),
    AxisType("seed", "Seed", "int", _seed, hint="1, 2, 3 or 1-5; -1: a random seed"),
    AxisType("steps", "Steps", "int", _steps, hint="10, 20, 30 or 10-30 (+10)"),
    AxisType("cfg", "CFG Scale", "float", _cfg, hint="5, 7.5 or 3-9 [4]"),
    AxisType("sampler", "Sampler", "str", _sampler, labelled=False, hint="Euler a, DPM++ 2M"),
    AxisType(
        "checkpoint",
        "Checkpoint name",
        "str",
        _checkpoint,
        labelled=False,
        cost=1.0,
        hint="model names or files",
    ),
    AxisType("vae", "VAE", "str", _vae, cost=0.7, hint="VAE files; Automatic: the model's"),
    AxisType("clip_skip", "Clip skip", "int", _clip_skip, hint="1, 2 or 1-3"),
    AxisType("size", "Size", "str", _size, hint="512x512, 512x768"),
    AxisType("denoising", "Denoising", "float", _denoising, hint="0.3-0.9 [4] (a source image)"),
    AxisType("lora_weight", "LoRA weight", "float", _lora_weight, hint="0-1 [5] (the LoRAs)"),
    AxisType(
        "prompt_sr",
        "Prompt S/R",
        "str",
        _prompt_sr,
        labelled=False,
        hint="cat, dog, fox: the first is replaced by each",
    ),
    AxisType("prompt", "Prompt", "str", _prompt, labelled=False, hint='"a cat, red", a dog'),
)
_BY_KEY = {axis.key: axis for axis in AXIS_TYPES}


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_NAME = {
    **{_plain(a.key): a for a in AXIS_TYPES},
    **{_plain(a.label): a for a in AXIS_TYPES},
    "model": _BY_KEY["checkpoint"],
    "denoisingstrength": _BY_KEY["denoising"],
    "strength": _BY_KEY["denoising"],
}


def axis_type(name: str) -> AxisType:
    """The axis type a recipe or the command line names, by its key or A1111's label in
    any case and spacing ("cfg", "CFG Scale", "Prompt S/R", "prompt_sr")."""
    found = _BY_NAME.get(_plain(name))
    if found is None:
        known = ", ".join(axis.key for axis in AXIS_TYPES)
        raise BadInput(f"Unknown X/Y/Z plot axis {name!r}. Choose one of: {known}.")
    return found


def csv_text(values: list) -> str:
    """Values written back as an axis's values text, which split_values reads as the same
    values: ", "-separated, or as CSV (quoted, no spaces) when one holds a comma or quote."""
    texts = [str(value) for value in values]
    if not any(c in text for text in texts for c in ',"\n'):
        return ", ".join(texts)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(texts)
    return out.getvalue()
