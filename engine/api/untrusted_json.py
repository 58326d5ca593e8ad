"""JSON from files anyone could have made: a model header, a record beside a model.

`json.loads` recurses once per nested array or object, so a header of 100,000 nested
arrays (a few hundred kilobytes) raises RecursionError, which no caller expects from a
parser. Here it is the ValueError every caller already handles for damaged JSON.
"""

from __future__ import annotations

import json
from typing import Any


class TooDeeplyNested(ValueError):
    """The text nests arrays or objects deeper than Python's parser can follow."""


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise TooDeeplyNested("its JSON is nested too deeply to read") from None


def raw_decode(text: str, start: int) -> tuple[Any, int]:
    try:
        return json.JSONDecoder().raw_decode(text, start)
    except RecursionError:
        raise TooDeeplyNested("its JSON is nested too deeply to read") from None
