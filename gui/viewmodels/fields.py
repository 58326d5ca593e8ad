"""A form's state as typed fields with change signals, so a panel's widgets can be bound
to it (gui/bindings.py) and its requests built, tested and restored without widgets.

A Field converts what it is given (so a spin box's float or a combo's None arrive as the
field's type) and says `changed` only when the value really changed: that is what keeps a
two-way binding from looping. A listener that sets the field again (a combo refusing a
value) is heard after the first change, so every listener ends on the final value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.api.limits import random_seed


class Field(QObject):
    changed = Signal(object)  # the new value

    def __init__(
        self,
        value: Any,
        convert: Callable[[Any], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._convert = convert
        self._value = self._converted(value)
        self._emitting = self._pending = False

    def _converted(self, value: Any) -> Any:
        return self._convert(value) if self._convert is not None else value

    @property
    def value(self) -> Any:
        return self._value

    def set(self, value: Any) -> bool:
        """Take a value; True (and `changed`) only when it differs from the held one."""
        value = self._converted(value)
        if value == self._value and type(value) is type(self._value):
            return False
        self._value = value
        if self._emitting:  # set again by a listener: said once the others heard the first
            self._pending = True
            return True
        self._emitting = True
        try:
            self.changed.emit(value)
            while self._pending:  # so every listener hears the final value last
                self._pending = False
                self.changed.emit(self._value)
        finally:
            self._emitting = False
        return True


def text(value: Any) -> str:
    return "" if value is None else str(value)


class FormModel(QObject):
    """A view-model: its Fields are attributes, created with `field()`."""

    def field(self, value: Any, convert: Callable[[Any], Any] | None = None) -> Field:
        return Field(value, convert, parent=self)


def seed_text(seed: int | None) -> str:
    """What a seed field shows: empty for a random seed (None or negative, as in A1111)."""
    return "" if seed is None or seed < 0 else str(seed)


def resolve_seed(text_: str) -> int:
    """The seed to use now: the typed one, or a fresh random one (empty or -1)."""
    text_ = text_.strip()
    if not text_ or text_ == "-1":
        return random_seed()
    return int(text_)
