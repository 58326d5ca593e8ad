"""LocalEngine is an Engine: every member of the protocols in engine.interface exists on it
(and on its gallery and catalogue) with a signature that accepts every call the protocol
allows. Checked member by member with inspect, not with a runtime_checkable isinstance
(which only looks at names). And the protocols cover what the GUI calls: every
`client.<name>` in gui/ is a member of Engine.
"""

from __future__ import annotations

import ast
import inspect
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from engine.interface import Catalogue, Engine, Gallery
from engine.local_engine import LocalEngine

GUI = Path(__file__).parent.parent / "gui"
PROTOCOLS = (Engine, Gallery, Catalogue)


def members(protocol: type) -> dict[str, Any]:
    """The protocol's own members: name -> function, property, or annotated type."""
    found: dict[str, Any] = {}
    hints = typing.get_type_hints(protocol)
    for cls in reversed(protocol.__mro__):
        if cls in (object, typing.Protocol, typing.Generic):
            continue
        for name in getattr(cls, "__annotations__", {}):
            found[name] = hints[name]
        for name, value in vars(cls).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                found[name] = value
    return found


def accepts_every_call(wanted: inspect.Signature, given: inspect.Signature) -> list[str]:
    """Why `given` (the implementation) cannot take a call `wanted` (the protocol) allows."""
    problems = []
    params = dict(given.parameters)
    kinds = {p.kind for p in params.values()}
    for name, want in wanted.parameters.items():
        have = params.pop(name, None)
        if have is None:
            if inspect.Parameter.VAR_KEYWORD not in kinds:
                problems.append(f"no parameter {name!r}")
            continue
        if have.kind != want.kind and have.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            problems.append(f"{name!r} is {have.kind.description}, not {want.kind.description}")
        if want.default is not inspect.Parameter.empty and have.default is inspect.Parameter.empty:
            problems.append(f"{name!r} has no default")
    for name, extra in params.items():
        optional = extra.default is not inspect.Parameter.empty or extra.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if not optional:
            problems.append(f"extra parameter {name!r} is required")
    return problems


def structural_problems(protocol: type, implementation: object) -> list[str]:
    problems = []
    for name, member in members(protocol).items():
        where = f"{type(implementation).__name__}.{name}"
        if not hasattr(implementation, name):
            problems.append(f"{where} is missing")
            continue
        value = getattr(implementation, name)
        if isinstance(member, property):
            hint = typing.get_type_hints(member.fget).get("return")
            problems += check_value(hint, value, where)
        elif callable(member) and not isinstance(member, type):
            if not callable(value):
                problems.append(f"{where} is not callable")
                continue
            wanted = inspect.signature(member)
            wanted = wanted.replace(parameters=list(wanted.parameters.values())[1:])  # self
            problems += [
                f"{where}: {p}" for p in accepts_every_call(wanted, inspect.signature(value))
            ]
        else:
            problems += check_value(member, value, where)
    return problems


def check_value(hint: Any, value: object, where: str) -> list[str]:
    if hint in PROTOCOLS:
        return structural_problems(hint, value)
    if isinstance(hint, types.GenericAlias):  # tuple[Path, ...]: checked as a tuple
        hint = typing.get_origin(hint)
    if hint is not None and not isinstance(value, hint):
        return [f"{where} is {type(value).__name__}, not {hint}"]
    return []


@pytest.fixture
def engine(qtbot, tmp_path: Path):
    engine = LocalEngine(tmp_path / "out")  # never started: no runtime, no torch
    yield engine
    engine.shutdown(1_000)


def test_local_engine_is_an_engine_member_by_member(engine) -> None:
    assert structural_problems(Engine, engine) == []


def test_its_gallery_and_catalogue_are_a_gallery_and_a_catalogue(engine) -> None:
    assert structural_problems(Gallery, engine.gallery) == []
    assert structural_problems(Catalogue, engine.catalogue) == []


def test_the_check_sees_a_missing_member_and_a_wrong_signature(engine) -> None:
    """The checker itself: an engine lacking `pause`, and one whose `cancel` wants more."""

    class Lacking:
        def __getattr__(self, name: str) -> object:
            if name == "pause":
                raise AttributeError(name)
            return getattr(engine, name)

    class Wrong(Lacking):
        def pause(self, job_id: int) -> None: ...
        def cancel(self, job_id: int, why: str) -> None: ...

    assert "Lacking.pause is missing" in structural_problems(Engine, Lacking())
    assert any("extra parameter 'why'" in p for p in structural_problems(Engine, Wrong()))


def client_attributes() -> set[str]:
    """Every name the GUI reads off its engine: `client.x` and `self.client.x`."""
    names = set()
    for path in GUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            if _is_the_engine(node.value):
                names.add(node.attr)
    return names


def _is_the_engine(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "client"
    return isinstance(node, ast.Attribute) and node.attr in ("client", "_client")


def test_the_engine_protocol_covers_everything_the_gui_calls() -> None:
    used = client_attributes()
    assert used, "the scan found no use of the engine at all"
    assert used <= set(members(Engine)), used - set(members(Engine))
