"""Every engine event and outcome as plain JSON data, and back: what a remote engine sends.

An event or outcome becomes {"type": <its class name>, <field>: <data>, ...}. Fields are
written by value and read back by the class's type hints: a request as its recipe
(engine.api.requests.recipes), an image (a numpy array) as {"png": <base64 PNG>}
(engine.api.image_data, lossless), bytes as {"bytes": <base64>}, an outcome inside an
event tagged like an event, tuples as lists, enums by value, and the rest through
engine.api.serialize. So a new Event or Outcome class travels with no change here as
long as its fields are of those kinds; tests/test_wire.py round-trips every class it
finds.

Floats may be NaN or infinite (a diverged training's loss): `to_json` writes them as
Python's json module does, and `from_json` reads them back.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
from enum import Enum
from typing import Any, Union, get_args, get_origin

import numpy as np

from engine.api.errors import BadInput
from engine.api.events import DeviceInfo, Event
from engine.api.image_data import pixels_from_base64, png_base64
from engine.api.outcomes import Outcome
from engine.api.requests import Request, request_from_dict, request_to_dict
from engine.api.serialize import field_types, from_data

Message = Event | DeviceInfo  # what an engine's `event` signal carries
_NONE = type(None)


# ---------------------------------------------------------------- the classes


def _engine_classes(base: type) -> dict[str, type]:
    """Every subclass of `base` the engine defines, by name (found now, so none is missed)."""
    found, stack = {}, [base]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("engine.") and dataclasses.is_dataclass(cls):
                found[cls.__name__] = cls
    return found


def event_classes() -> dict[str, type]:
    return {**_engine_classes(Event), DeviceInfo.__name__: DeviceInfo}


def outcome_classes() -> dict[str, type]:
    return _engine_classes(Outcome)


# ---------------------------------------------------------------- the public functions


def event_to_data(event: Message) -> dict[str, Any]:
    return _tagged(event)


def event_from_data(data: Any) -> Message:
    return _untag(event_classes(), data, "event")


def outcome_to_data(outcome: Outcome) -> dict[str, Any]:
    return _tagged(outcome)


def outcome_from_data(data: Any) -> Outcome:
    return _untag(outcome_classes(), data, "outcome")


def event_to_json(event: Message) -> str:
    return json.dumps(event_to_data(event))


def event_from_json(text: str) -> Message:
    return event_from_data(json.loads(text))


# ---------------------------------------------------------------- writing


def _tagged(value: Any) -> dict[str, Any]:
    return {"type": type(value).__name__, **_fields(value)}


def _fields(value: Any) -> dict[str, Any]:
    return {f.name: _write(getattr(value, f.name)) for f in dataclasses.fields(value)}


def _write(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"png": png_base64(value)}
    if isinstance(value, Request):
        return request_to_dict(value)
    if isinstance(value, Outcome):
        return _tagged(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, dict):
        return {str(key): _write(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_write(item) for item in value]
    if isinstance(value, np.generic):  # a numpy number among the metrics
        return value.item()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):  # a training's files, from a cluster worker
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot send {type(value).__name__} over the wire")


# ---------------------------------------------------------------- reading


def _untag(classes: dict[str, type], data: Any, what: str) -> Any:
    if not isinstance(data, dict):
        raise BadInput(f"An {what} must be an object, not {type(data).__name__}.")
    cls = classes.get(data.get("type"))
    if cls is None:
        raise BadInput(f"Unknown {what} type {data.get('type')!r}.")
    return _read_dataclass(cls, data, cls.__name__)


def _read(hint: Any, data: Any, where: str) -> Any:
    if hint is Any:
        return data
    if hint is np.ndarray:
        if not isinstance(data, dict) or not isinstance(data.get("png"), str):
            raise BadInput(f"{where} must be an image ({{'png': base64}}).")
        return pixels_from_base64(data["png"])
    if hint is bytes:
        return _bytes(data, where)
    if isinstance(hint, type) and issubclass(hint, Request):
        return request_from_dict(data)
    if hint is Outcome:
        return outcome_from_data(data)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [o for o in get_args(hint) if o is not _NONE]
        if data is None and len(options) < len(get_args(hint)):
            return None
        return _read(options[0], data, where) if len(options) == 1 else from_data(hint, data, where)
    if origin is tuple:
        return _read_tuple(get_args(hint), data, where)
    if origin is dict:
        if not isinstance(data, dict):
            raise BadInput(f"{where} must be an object.")
        item = get_args(hint)[1]
        return {key: _read(item, value, f"{where}[{key!r}]") for key, value in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _read_dataclass(hint, data, where)
    if hint is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)  # NaN and infinities included, unlike in a recipe
    return from_data(hint, data, where)


def _bytes(data: Any, where: str) -> bytes:
    if not isinstance(data, dict) or not isinstance(data.get("bytes"), str):
        raise BadInput(f"{where} must be bytes ({{'bytes': base64}}).")
    try:
        return base64.b64decode(data["bytes"], validate=True)
    except ValueError as exc:
        raise BadInput(f"{where} is not base64 ({exc}).") from None


def _read_tuple(args: tuple, data: Any, where: str) -> tuple:
    if not isinstance(data, list | tuple):
        raise BadInput(f"{where} must be a list.")
    if len(args) == 2 and args[1] is Ellipsis:
        args = (args[0],) * len(data)
    if len(args) != len(data):
        raise BadInput(f"{where} must have {len(args)} items (got {len(data)}).")
    return tuple(
        _read(a, item, f"{where}[{i}]") for i, (a, item) in enumerate(zip(args, data, strict=True))
    )


def _read_dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise BadInput(f"{where} must be an object.")
    hints = field_types(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _read(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise BadInput(f"{where} has no {f.name}.")
    return cls(**values)
