"""The real MainWindow is what the window's helpers type it as (issue 20): the quit
prompt, the menus, Help, the window state and "Use these parameters" each declare a
Protocol of the members they use instead of importing MainWindow (which imports them);
so does the Create panel's model list, of the panel. Nothing checks a Protocol at run
time, so this does: every member each one declares is on a real window (or its Create
panel), of the declared type."""

from __future__ import annotations

from types import UnionType
from typing import Protocol, get_args, get_origin, get_type_hints

import pytest

from gui.create_model_list import ModelListPanel
from gui.help_menu import HelpWindow
from gui.quit_prompt import QuitWindow
from gui.reopen_recipe import ReopenWindow
from gui.window_menus import ActionWindow, MenuWindow, ModeBarWindow
from gui.window_state import RoomWindow, SavedWindow

PROTOCOLS = [
    QuitWindow,
    HelpWindow,
    ActionWindow,
    MenuWindow,
    ModeBarWindow,
    SavedWindow,
    RoomWindow,
    ReopenWindow,
]
PANEL_PROTOCOLS = [ModelListPanel]  # what helpers of the Create panel use of it


def conforms(value: object, hint: object) -> bool:
    """isinstance for the hints the protocols use: classes, X | None, list[X]."""
    if isinstance(hint, UnionType):
        return any(conforms(value, arg) for arg in get_args(hint))
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(isinstance(v, item) for v in value)
    if getattr(hint, "_is_protocol", False) and not getattr(hint, "_is_runtime_protocol", False):
        # A protocol isinstance cannot check (the engine's): every member it names is there.
        members = set(get_type_hints(hint)) | functions(hint)
        return bool(members) and all(hasattr(value, name) for name in members)
    return isinstance(value, hint)


def functions(protocol: type) -> set[str]:
    """The methods and properties a protocol declares, its bases' included."""
    return {
        name
        for cls in protocol.__mro__
        if Protocol in cls.__bases__
        for name, member in vars(cls).items()
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
    }


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.__name__)
def test_the_main_window_has_what_its_helpers_use(window, protocol):
    assert_has(window, protocol)


@pytest.mark.parametrize("protocol", PANEL_PROTOCOLS, ids=lambda p: p.__name__)
def test_the_create_panel_has_what_its_helpers_use(window, protocol):
    assert_has(window.create_panel, protocol)


def assert_has(owner: object, protocol: type) -> None:
    """Every attribute the protocol declares is on `owner`, of its type; every method
    and property is one of its class."""
    attributes = get_type_hints(protocol)
    assert attributes or functions(protocol)  # the reading found something to check
    for name, hint in attributes.items():
        assert hasattr(owner, name), name
        assert conforms(getattr(owner, name), hint), (name, hint, getattr(owner, name))
    for name in functions(protocol):
        assert hasattr(type(owner), name), name  # a method or property of the class
        member = getattr(type(owner), name)
        assert callable(member) or isinstance(member, property), name
