"""Two-way bindings between widgets and view-model Fields (gui/viewmodels/fields.py).

Widget → field: the widget's change signal sets the field. Field → widget: the field's
`changed` sets the widget with the widget's signals blocked, so the value does not come
back round (and a field only says `changed` for a new value, so neither side loops).
Whoever needs to react listens to the field, not to the widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from gui.viewmodels.fields import Field


class Binding(QObject):
    """One widget bound to one field; `show()` puts the field's value in the widget again
    (after the widget's items were refilled, say). A child of the widget: it lives as
    long as the widget does."""

    def __init__(
        self,
        widget: QWidget,
        field: Field,
        read: Callable[[], Any],
        write: Callable[[Any], None],
    ) -> None:
        super().__init__(widget)
        self.widget, self.field, self._read, self._write = widget, field, read, write
        field.changed.connect(self._show_value)

    def show(self) -> None:
        self._show_value(self.field.value)

    def _show_value(self, value: Any) -> None:
        blocked = self.widget.blockSignals(True)
        try:
            self._write(value)
        finally:
            self.widget.blockSignals(blocked)

    def take(self, *_args: object) -> None:
        """The widget changed: its value goes to the field."""
        self.field.set(self._read())


def bind_spin(box: QSpinBox | QDoubleSpinBox, field: Field) -> Binding:
    binding = Binding(box, field, box.value, box.setValue)
    box.valueChanged.connect(binding.take)
    binding.show()
    return binding


def bind_line_edit(edit: QLineEdit, field: Field) -> Binding:
    binding = Binding(edit, field, edit.text, lambda v: _set_text(edit, v))
    edit.textChanged.connect(binding.take)
    binding.show()
    return binding


def bind_text_edit(edit: QPlainTextEdit, field: Field) -> Binding:
    def write(value: Any) -> None:
        if edit.toPlainText() != value:  # keeps the cursor when nothing changed
            edit.setPlainText(str(value))

    binding = Binding(edit, field, edit.toPlainText, write)
    edit.textChanged.connect(binding.take)
    binding.show()
    return binding


def bind_check(box: QAbstractButton | QGroupBox, field: Field) -> Binding:
    binding = Binding(box, field, box.isChecked, lambda v: box.setChecked(bool(v)))
    box.toggled.connect(binding.take)
    binding.show()
    return binding


def bind_combo(
    combo: QComboBox,
    field: Field,
    by_text: bool = False,
    missing: Callable[[Any], int] | None = None,
) -> Binding:
    """The field holds the current item's data (or its text, `by_text`). A value the combo
    does not hold goes to `missing`, which may add it and return its index (or another
    item's); otherwise (or when it returns -1) the field takes back what the combo shows."""

    def read() -> Any:
        return combo.currentText() if by_text else combo.currentData()

    def index_of(value: Any) -> int:
        if by_text:
            return combo.findText(str(value))
        return next((i for i in range(combo.count()) if combo.itemData(i) == value), -1)

    def write(value: Any) -> None:
        index = index_of(value)
        if index < 0 and missing is not None:
            index = missing(value)
        if index >= 0:
            combo.setCurrentIndex(index)
        if read() != value:  # refused, or `missing` chose another item: the field follows
            field.set(read())

    binding = Binding(combo, field, read, write)
    combo.currentIndexChanged.connect(binding.take)
    binding.show()
    return binding


def _set_text(edit: QLineEdit, value: Any) -> None:
    if edit.text() != str(value):
        edit.setText(str(value))
