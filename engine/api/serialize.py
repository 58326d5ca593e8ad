"""One generic serializer for every request: frozen dataclasses <-> plain JSON data.

`to_data` turns nested dataclasses, enums and tuples into dicts, strings and lists;
`from_data(cls, data)` reads them back by the type hints of `cls`, so a recipe read from
an image is equal (and hashes equal) to the request that made it. `check_types` is the
door-keeper: a request whose fields have the wrong Python types is refused with a
sentence before any engine code sees it (64.0 is not a width, True is not a seed).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from engine.api.errors import BadInput

T = TypeVar("T")
_NONE = type(None)


# ---------------------------------------------------------------- writing


def optional_part(default: Any = None) -> Any:
    """A dataclass field written only when it differs from `default`: an optional part
    added later leaves the recipes of requests without it exactly as they were."""
    return dataclasses.field(default=default, metadata={OMIT_UNSET: True})


OMIT_UNSET = "omit_unset"


def part_read_as(default: Any, read_as: Callable[[dict[str, Any]], type]) -> Any:
    """A dataclass field typed with a base class whose data is read as the class that
    `read_as(values)` names, given the fields read before it (a sample's options, as the
    class its model's family names): the recipe stays plain fields, with no class tag."""
    return dataclasses.field(default=default, metadata={READ_AS: read_as})


READ_AS = "read_as"


def to_data(value: Any) -> Any:
    """Plain JSON data (dict, list, str, int, float, bool, None) for `value`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_data(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get(OMIT_UNSET) and getattr(value, f.name) == f.default)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or Infinity; validation refuses them before this point.
        raise ValueError(f"cannot write the non-finite number {value} into a recipe")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot serialize {type(value).__name__}")


# ---------------------------------------------------------------- reading


def from_data(cls: type[T], data: Any, where: str = "") -> T:
    """The value of type `cls` that `to_data` wrote as `data`.

    Unknown keys (written by a newer version) are ignored; missing ones take their
    defaults. Anything else that does not fit raises BadInput naming the field.
    """
    return _read(cls, data, where or getattr(cls, "__name__", "value"))


def _read(hint: Any, data: Any, where: str) -> Any:
    if hint is Any:
        return data
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _read_union(hint, data, where)
    if origin is tuple:
        return _read_tuple(hint, data, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _read_dataclass(hint, data, where)
    if _is_open_key(hint) and isinstance(data, str):
        try:
            return hint(data)  # an open key (Family): any id reads, validation judges it
        except ValueError:
            raise BadInput(f"{where} cannot be {data!r}.") from None
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(data)
        except ValueError:
            choices = ", ".join(str(m.value) for m in hint)
            raise BadInput(f"{where} must be one of {choices} (got {data!r}).") from None
    if hint is float and _is_number(data):
        return float(data)
    if hint in (int, str, bool, _NONE) and _is_exactly(data, hint):
        return data
    raise BadInput(f"{where} must be {_type_name(hint)}, not {_type_name(type(data))}.")


def _read_union(hint: Any, data: Any, where: str) -> Any:
    options = get_args(hint)
    if data is None and _NONE in options:
        return None
    errors = []
    for option in (o for o in options if o is not _NONE):
        try:
            return _read(option, data, where)
        except BadInput as exc:
            errors.append(exc)
    raise errors[0] if errors else BadInput(f"{where} cannot be empty.")


def _read_tuple(hint: Any, data: Any, where: str) -> tuple:
    if not isinstance(data, list | tuple):
        raise BadInput(f"{where} must be a list, not {_type_name(type(data))}.")
    args = get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_read(args[0], item, f"{where}[{i}]") for i, item in enumerate(data))
    if len(args) != len(data):
        raise BadInput(f"{where} must have {len(args)} items (got {len(data)}).")
    return tuple(
        _read(a, item, f"{where}[{i}]") for i, (a, item) in enumerate(zip(args, data, strict=True))
    )


def _read_dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise BadInput(f"{where} must be an object, not {_type_name(type(data))}.")
    hints = field_types(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in data:
            hint = f.metadata[READ_AS](values) if READ_AS in f.metadata else hints[f.name]
            values[f.name] = _read(hint, data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise BadInput(f"{where} has no {f.name}.")
    return cls(**values)


# ---------------------------------------------------------------- checking


def check_types(value: Any, where: str = "") -> None:
    """Raise BadInput if any field of a dataclass (recursively) has the wrong type."""
    cls = type(value)
    where = where or cls.__name__
    hints = field_types(cls)
    for f in dataclasses.fields(value):
        _check(hints[f.name], getattr(value, f.name), f"{where}.{f.name}")


def _check(hint: Any, value: Any, where: str) -> None:
    if hint is Any:
        return
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        for option in options:
            try:
                _check(option, value, where)
                return
            except BadInput:
                if isinstance(option, type) and isinstance(value, option):
                    raise  # the right part with a wrong field: name that field
        names = " or ".join(_type_name(o) for o in options)
        raise BadInput(f"{where} must be {names}, not {_type_name(type(value))}.")
    if origin is tuple:
        if not isinstance(value, tuple):
            raise BadInput(f"{where} must be a tuple, not {_type_name(type(value))}.")
        args = get_args(hint)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            raise BadInput(f"{where} must have {len(items)} items (got {len(value)}).")
        for i, (item_hint, item) in enumerate(zip(items, value, strict=True)):
            _check(item_hint, item, f"{where}[{i}]")
        return
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            raise BadInput(f"{where} must be {hint.__name__}, not {_type_name(type(value))}.")
        check_types(value, where)
        return
    if isinstance(hint, type) and issubclass(hint, Enum):
        if not isinstance(value, hint):
            raise BadInput(f"{where} must be a {hint.__name__}, not {value!r}.")
        return
    ok = _is_number(value) if hint is float else _is_exactly(value, hint)
    if not ok:
        raise BadInput(
            f"{where} must be {_type_name(hint)}, not {_type_name(type(value))} ({value!r})."
        )


# ---------------------------------------------------------------- helpers


@cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass's fields (annotations are strings here)."""
    return typing.get_type_hints(cls)


def _is_open_key(hint: Any) -> bool:
    """A str subclass that is not an enum: its values are read by calling it (Family)."""
    if not isinstance(hint, type) or hint is str:
        return False
    return issubclass(hint, str) and not issubclass(hint, Enum)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_exactly(value: Any, hint: Any) -> bool:
    if hint is _NONE:
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(hint, type) and isinstance(value, hint)


def _type_name(hint: Any) -> str:
    names = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}
    if hint is _NONE:
        return "empty"
    return names.get(hint, getattr(hint, "__name__", str(hint)))
