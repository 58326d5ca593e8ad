"""A family's own training settings, set by name over its preset's: `--set rank=8` on the
command line, ("rank", "8") in a TrainRequest. The words travel as written; the family's
runner reads them with its settings class (`with_settings`), whose field types say how,
and whose `check` holds the values to their choices and ranges. A family's spec names
the settings it takes (FamilySpec.train_settings), so a request is checked before any
training code is imported."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from engine.api.errors import BadInput

Pairs = tuple[tuple[str, str], ...]


def parse_pairs(words: list[str] | None) -> Pairs:
    """["rank=8", "covariance=lowrank"] to (("rank", "8"), ("covariance", "lowrank"))."""
    pairs = []
    for word in words or ():
        name, equals, value = word.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise BadInput(f"A setting is written NAME=VALUE (as rank=8), not {word!r}.")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def check_names(pairs: Pairs, offered: tuple[str, ...], title: str) -> None:
    """BadInput for a setting the family does not take by name."""
    for name, _value in pairs:
        if name not in offered:
            takes = (
                f"takes {', '.join(offered)} by name"
                if offered
                else "takes no settings by name (its preset's are used)"
            )
            raise BadInput(f"{title} training {takes}; {name!r} is not one of them.")


def with_settings(base: Any, pairs: Pairs) -> Any:
    """The settings dataclass `base` with the named fields replaced, each read as its
    field's type (int, float or str), then checked (its `check`, if it has one)."""
    hints = typing.get_type_hints(type(base))
    names = {item.name for item in dataclasses.fields(base)}
    values: dict[str, Any] = {}
    for name, word in pairs:
        if name not in names:
            raise BadInput(f"There is no training setting {name!r} (there are {', '.join(names)}).")
        values[name] = _read(hints[name], name, word)
    settings = dataclasses.replace(base, **values)
    check = getattr(settings, "check", None)
    if check is not None:
        check()
    return settings


def _read(kind: Any, name: str, word: str) -> Any:
    if kind is str:
        return word
    try:
        return kind(word)
    except ValueError:
        raise BadInput(f"The setting {name} is a number ({kind.__name__}), not {word!r}.") from None
