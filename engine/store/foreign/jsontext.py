"""JSON from another tool's picture: parsed safely (engine.api.untrusted_json: nesting
10,000 deep is a ValueError, not a RecursionError), with a note instead of a raise."""

from __future__ import annotations

from typing import Any

from engine.api import untrusted_json
from engine.store.foreign.result import Draft


def load_object(text: str, what: str, draft: Draft) -> dict[str, Any] | None:
    """`text` as a JSON object, or None with a note saying why not."""
    try:
        value = untrusted_json.loads(text)
    except untrusted_json.TooDeeplyNested:
        draft.notes.append(f"{what} is JSON nested too deeply to read: not read.")
        return None
    except ValueError:
        draft.notes.append(f"{what} is not valid JSON: not read.")
        return None
    if not isinstance(value, dict):
        draft.notes.append(f"{what} is JSON but not an object: not read.")
        return None
    return value


def looks_like_object(text: str | None) -> bool:
    return bool(text) and text.lstrip().startswith("{")  # type: ignore[union-attr]


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def take(data: dict[str, Any], table: dict[str, str], draft: Draft, done: tuple[str, ...]) -> None:
    """Each `table` key of `data` into its field; every key neither in `table` nor in
    `done` (read by the caller) is kept raw, so nothing the tool wrote is lost."""
    for key, value in data.items():
        if key in table:
            draft.put(table[key], value)
        elif key not in done:
            draft.keep(key, value)


def name_of(value: Any) -> str | None:
    """A model named as text, or as an object with a name (InvokeAI's identifiers)."""
    if isinstance(value, dict):
        value = value.get("name", value.get("model_name"))
    return text_of(value)
