"""A request from another tool's A1111 `parameters` text (issue 21): the prompt, size,
sampling and seeds, and the image parts (engine.api.a1111_parts) where the text says
them. What the text cannot carry (the source image, the mask) is named in `missing`
so the GUI can ask for it rather than silently run text to image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.api.a1111_control import control_from_parameters
from engine.api.a1111_parts import parts_from_parameters
from engine.api.kinds import Family
from engine.api.parts import ModelRef, Prompt, Sampling, Size
from engine.api.requests.sd import Txt2ImgRequest
from engine.api.schedule_types import read_sampler_and_schedule


@dataclass(frozen=True)
class FromParameters:
    """`request` as near to the text as this version draws; `missing` what the user
    must choose before it can run ("source image", "mask"); `notes` sentences on what
    was read approximately."""

    request: Txt2ImgRequest
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def request_from_parameters(params: dict[str, Any]) -> FromParameters:
    """The request a parsed A1111 text (engine.store.a1111.parse_parameters) describes.
    The model is named as the text names it (`Model`): the GUI finds it in its folders."""
    parts = parts_from_parameters(params)
    control = control_from_parameters(params)
    notes = [*parts.notes, *control.notes]
    schedule = read_sampler_and_schedule(
        str(params.get("sampler") or ""), str(params.get("schedule_type") or "")
    )
    notes += [schedule.note] if schedule.note else []
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(params.get("model") or "")),
        prompt=Prompt(str(params.get("prompt", "")), str(params.get("negative_prompt", ""))),
        size=Size(_int(params, "width", 512), _int(params, "height", 512)),
        sampling=Sampling(
            _int(params, "steps", 20),
            _float(params, "cfg_scale", 7.0),
            schedule.sampler,
            _int(params, "seed", 0),
            spacing=schedule.spacing,
        ),
        clip_skip=_int(params, "clip_skip", 1),
        variation_seed=_int(params, "variation_seed", 0),
        variation_strength=_float(params, "variation_seed_strength", 0.0),
        source=parts.source,
        mask=parts.mask,
        hires=parts.hires,
        control=control.control,
        ip_adapters=control.ip_adapters,
    )
    return FromParameters(request, parts.missing + control.missing, tuple(notes))


def _int(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _float(params: dict[str, Any], key: str, default: float) -> float:
    value = params.get(key)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else default
