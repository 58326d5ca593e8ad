"""An X/Y/Z plot axis's values text, read as AUTOMATIC1111's X/Y/Z plot reads it.

The text is comma-separated values, CSV-quoted where a value holds a comma
(`"a, b", c`: the quote must follow the comma at once, as Python's csv reads it);
every value is stripped. A number axis also takes ranges, each expanded in place:

- `1-5` → 1, 2, 3, 4, 5; `1-10 (+3)` → 1, 4, 7, 10; `10-5 (-3)` → 10, 7 (the end is
  passed to Python's range as end + 1, so a falling range stops short of it, as A1111's);
- `1-10 [5]` → five values spaced evenly from 1 to 10 (numpy's linspace; on a whole
  number axis each is truncated: 1, 3, 5, 7, 10);
- on a decimal axis, `0.5-1.5 (+0.25)` steps with numpy's arange up to end + step, and
  `0.5-1.5 [5]` → 0.5, 0.75, 1.0, 1.25, 1.5.

Written from A1111's documented behaviour and its scripts/xyz_grid.py; where A1111
crashes (a word on a number axis, an empty value) this says what is wrong instead.
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np

from engine.api.errors import BadInput

_INT = r"[+-]?\s*\d+"
_FLOAT = r"[+-]?\s*\d+(?:\.\d*)?"
# start - end, then an optional signed step in round brackets, or a count in square ones.
_INT_STEP = re.compile(rf"\s*({_INT})\s*-\s*({_INT})(?:\s*\(([+-]\d+)\s*\))?\s*")
_INT_COUNT = re.compile(rf"\s*({_INT})\s*-\s*({_INT})(?:\s*\[(\d+)\s*\])?\s*")
_FLOAT_STEP = re.compile(rf"\s*({_FLOAT})\s*-\s*({_FLOAT})(?:\s*\(([+-]\d+(?:\.\d*)?)\s*\))?\s*")
_FLOAT_COUNT = re.compile(rf"\s*({_FLOAT})\s*-\s*({_FLOAT})(?:\s*\[(\d+)\s*\])?\s*")
MAX_VALUES = 1_000  # one axis; a plot's cells are bounded separately


def split_values(text: str) -> list[str]:
    """The values of `text` as CSV (every line a row), each stripped; blank text: none."""
    if not text.strip():
        return []
    rows = csv.reader(io.StringIO(text.strip()))
    return [value.strip() for row in rows for value in row]


def _number(text: str) -> str:
    return re.sub(r"\s+", "", text)  # "- 5" as -5: A1111's pattern allows the space


def int_values(text: str, axis: str) -> list[int]:
    """Whole numbers, with ranges expanded (`axis` names the axis in a sentence)."""
    values: list[int] = []
    for value in split_values(text):
        if match := _INT_STEP.fullmatch(value):
            start, end = int(_number(match[1])), int(_number(match[2]))
            step = int(match[3]) if match[3] else 1
            if step == 0:
                raise BadInput(f"{axis}: the range {value!r} has a step of 0; give +1 or more.")
            _check_count(range(start, end + 1, step), value, axis)
            values += range(start, end + 1, step)
        elif match := _INT_COUNT.fullmatch(value):
            start, end = int(_number(match[1])), int(_number(match[2]))
            count = _count(match[3], value, axis)
            values += [int(v) for v in np.linspace(start, end, count).tolist()]
        else:
            values.append(_plain(value, int, axis))
    return _non_empty(values, text, axis)


def float_values(text: str, axis: str) -> list[float]:
    """Decimal numbers, with ranges expanded (`axis` names the axis in a sentence)."""
    values: list[float] = []
    for value in split_values(text):
        if match := _FLOAT_STEP.fullmatch(value):
            start, end = float(_number(match[1])), float(_number(match[2]))
            step = float(match[3]) if match[3] else 1.0
            if step == 0:
                raise BadInput(f"{axis}: the range {value!r} has a step of 0; give +0.1 or so.")
            _check_count(range(max(0, math.ceil((end + step - start) / step))), value, axis)
            values += np.arange(start, end + step, step).tolist()
        elif match := _FLOAT_COUNT.fullmatch(value):
            start, end = float(_number(match[1])), float(_number(match[2]))
            values += np.linspace(start, end, _count(match[3], value, axis)).tolist()
        else:
            values.append(_plain(value, float, axis))
    return _non_empty(values, text, axis)


def str_values(text: str, axis: str) -> list[str]:
    """Words (sampler names, model files, prompt text): no ranges."""
    values = split_values(text)
    if any(not value for value in values):
        raise BadInput(f"{axis}: one of the values is empty; remove the extra comma.")
    return _non_empty(values, text, axis)


def _count(text: str | None, value: str, axis: str) -> int:
    count = int(text) if text else 1  # without [n] the step pattern has matched first
    if count > MAX_VALUES:
        raise BadInput(f"{axis}: {value!r} asks for {count} values; the most is {MAX_VALUES}.")
    return count


def _check_count(span: range, value: str, axis: str) -> None:
    if len(span) > MAX_VALUES:
        raise BadInput(
            f"{axis}: {value!r} gives {len(span):,} values; the most is {MAX_VALUES}. "
            "Give a larger step, or a count in square brackets: 1-100 [5]."
        )


def _plain(value: str, kind: type, axis: str) -> int | float:
    what = "a whole number" if kind is int else "a number"
    try:
        number = kind(value)
    except ValueError:
        raise BadInput(
            f"{axis}: {value!r} is not {what} or a range (1-5, 1-10 (+3), 0.5-1.5 [5])."
        ) from None
    if kind is float and not np.isfinite(number):
        raise BadInput(f"{axis}: {value!r} is not a finite number.")
    return number


def _non_empty(values: list, text: str, axis: str) -> list:
    if not values:
        said = f"{text.strip()!r} gives" if text.strip() else "has"
        raise BadInput(
            f"{axis} {said} no values. A falling range needs a negative step, or a count: 5-1 [5]."
            if text.strip()
            else f"{axis} {said} no values: type some, separated by commas."
        )
    if len(values) > MAX_VALUES:
        raise BadInput(f"{axis} has {len(values):,} values; the most is {MAX_VALUES}.")
    return values
