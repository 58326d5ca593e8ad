"""What was read from a picture made by another tool, in our words.

Every reader fills a Draft (raw candidate values, in whatever types the tool wrote);
`finish` checks each value against one table of what a generator could have used and
turns the draft into a ForeignRead. A value no generator could have used (negative
steps, a width of 10^9, a NaN CFG) is refused with a note, never passed on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_FIELD = 100_000  # characters of a prompt; a real one is a few hundred
MAX_LORAS = 64


@dataclass(frozen=True)
class Lora:
    name: str
    weight: float


@dataclass(frozen=True)
class Rule:
    """What a field must be: `kind` int, float or str, within [low, high] for numbers."""

    kind: type
    low: float = 0
    high: float = 0


# One table for every reader. The names are engine.store.a1111.parse_parameters' keys
# (A1111's own, in snake_case), so A1111 text maps onto them one to one. The bounds are
# what any generator could have used, not what Latent Studio accepts (Create checks its
# own limits when the values are used).
RULES: dict[str, Rule] = {
    "prompt": Rule(str),
    "negative_prompt": Rule(str),
    "seed": Rule(int, 0, 2**64 - 1),
    "steps": Rule(int, 1, 10_000),
    "cfg_scale": Rule(float, 0.0, 100.0),
    "sampler": Rule(str),
    "scheduler": Rule(str),
    "width": Rule(int, 1, 65_536),
    "height": Rule(int, 1, 65_536),
    "model": Rule(str),
    "model_hash": Rule(str),
    "vae": Rule(str),
    "clip_skip": Rule(int, 1, 48),
    "denoising_strength": Rule(float, 0.0, 1.0),
}
LORA_WEIGHT = Rule(float, -100.0, 100.0)


@dataclass
class Draft:
    """A reader's work in progress: candidate values, LoRAs, what it could not map."""

    values: dict[str, Any] = field(default_factory=dict)
    loras: list[tuple[Any, Any]] = field(default_factory=list)
    unmapped: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    tool: str = ""

    def put(self, name: str, value: Any) -> None:
        """A candidate for one of RULES' fields; None and "" mean the tool did not say."""
        if value is not None and value != "":
            self.values[name] = value

    def keep(self, name: str, value: Any) -> None:
        """A value that has no field of ours: shown as the tool wrote it."""
        if value is not None and value != "":
            self.unmapped[name] = value


@dataclass(frozen=True)
class ForeignRead:
    """One picture, read. `tool` is "" when no reader recognised its metadata."""

    tool: str
    fields: dict[str, int | float | str]  # keys from RULES; only what was read and sane
    loras: tuple[Lora, ...] = ()
    unmapped: dict[str, str] = field(default_factory=dict)  # name -> raw text
    notes: tuple[str, ...] = ()
    pixels: tuple[int, int] | None = None  # the picture's own width and height
    error: str = ""  # a sentence when the file could not be read at all

    def as_json(self) -> dict[str, Any]:
        if self.error:
            return {"error": self.error}
        return {
            "tool": self.tool,
            "fields": {
                **self.fields,
                **({"loras": [[x.name, x.weight] for x in self.loras]} if self.loras else {}),
            },
            "unmapped": dict(self.unmapped),
            "notes": list(self.notes),
            **({"pixels": list(self.pixels)} if self.pixels else {}),
        }


def finish(draft: Draft, pixels: tuple[int, int] | None = None) -> ForeignRead:
    notes = list(draft.notes)
    fields: dict[str, int | float | str] = {}
    for name, value in draft.values.items():
        checked = _check(RULES[name], value)
        if isinstance(checked, _Refused):
            notes.append(f"{_label(name)} {checked.why}: not used.")
        else:
            fields[name] = checked
    return ForeignRead(
        tool=draft.tool,
        fields=fields,
        loras=_loras(draft.loras, notes),
        unmapped={k: _raw_text(v) for k, v in draft.unmapped.items()},
        notes=tuple(notes),
        pixels=pixels,
    )


@dataclass(frozen=True)
class _Refused:
    why: str


def _check(rule: Rule, value: Any) -> int | float | str | _Refused:
    if rule.kind is str:
        if not isinstance(value, str):
            return _Refused(f"is not text ({type(value).__name__})")
        if len(value) > MAX_TEXT_FIELD:
            return _Refused(f"is {len(value):,} characters long (over {MAX_TEXT_FIELD:,})")
        return value
    number = as_number(value, integer=rule.kind is int)
    if number is None:
        return _Refused(f"is not a number ({_short(value)})")
    if isinstance(number, float) and not math.isfinite(number):
        return _Refused(f"is {number}")
    if not rule.low <= number <= rule.high:
        return _Refused(f"is {_short(number)}, outside {rule.low:g}–{rule.high:g}")
    return number


def as_number(value: Any, integer: bool = False) -> int | float | None:
    """A number from a number or its text ("123", "7.5"); None for anything else.
    An integer field takes 20.0 but not 20.5."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not integer else _int_text(value.strip())
        except (ValueError, OverflowError):
            return None
    if isinstance(value, int):
        return value if integer else float(value)
    if isinstance(value, float):
        if not integer or not math.isfinite(value):
            return value
        return int(value) if value.is_integer() else None
    return None


def _int_text(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)  # "20.0", "nan": judged as a float


def _loras(raw: list[tuple[Any, Any]], notes: list[str]) -> tuple[Lora, ...]:
    loras: list[Lora] = []
    for name, weight in raw[:MAX_LORAS]:
        checked = _check(LORA_WEIGHT, weight)
        if not isinstance(name, str) or not name or len(name) > 1000:
            notes.append("A LoRA without a usable name: not used.")
        elif isinstance(checked, _Refused):
            notes.append(f"The LoRA {name!r}'s weight {checked.why}: not used.")
        else:
            loras.append(Lora(name, float(checked)))
    if len(raw) > MAX_LORAS:
        notes.append(f"{len(raw)} LoRAs: only the first {MAX_LORAS} are read.")
    return tuple(loras)


def _raw_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _label(name: str) -> str:
    return {"cfg_scale": "CFG scale", "vae": "VAE"}.get(name, name.replace("_", " ").capitalize())
