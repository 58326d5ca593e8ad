"""A family's own sample options as controls on the Lab's Sample tab, built from the
fields of the options class its spec names (engine.api.sample_options.scalar_fields, as
the CLI builds its flags): an RBM's Gibbs steps, a GMM's component, a flow's temperature.
A new family's options appear here with no GUI code. Diffusion options have their own
controls (class names, guidance), so the panel does not build them here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from engine.api.sample_options import SampleOptions, scalar_fields

INT_RANGE = (-1_000_000, 1_000_000)  # a field that names no range
FLOAT_RANGE = (-1000.0, 1000.0)


class SampleOptionsForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.options_class: type[SampleOptions] = SampleOptions
        self.controls: dict[str, QSpinBox | QDoubleSpinBox] = {}

    def set_options_class(self, cls: type[SampleOptions] | None) -> None:
        """Controls for `cls`'s number fields at their defaults (None: none at all)."""
        cls = cls or SampleOptions
        if cls is self.options_class:
            return
        self.options_class = cls
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.controls = {}
        defaults = cls()
        for item, kind in scalar_fields(cls):
            control = _control(item, kind)
            if control is None:
                continue
            value = getattr(defaults, item.name)
            if value is not None:
                control.setValue(value)
            control.valueChanged.connect(lambda *_: self.changed.emit())
            self.controls[item.name] = control
            self.layout_.addRow(item.metadata.get("title", _title(item.name)), control)
        self.setVisible(bool(self.controls))

    def values(self) -> dict[str, Any]:
        return {name: control.value() for name, control in self.controls.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Show a recipe's values (unknown names and wrong types are passed over)."""
        for name, value in values.items():
            control = self.controls.get(name)
            if control is not None and isinstance(value, int | float):
                control.setValue(value)


def _control(item: dataclasses.Field, kind: type) -> QSpinBox | QDoubleSpinBox | None:
    low, high = item.metadata.get("range", INT_RANGE if kind is int else FLOAT_RANGE)
    if kind is int:
        control = QSpinBox()
        control.setRange(int(low), int(high))
    elif kind is float:
        control = QDoubleSpinBox()
        control.setRange(float(low), float(high))
        control.setDecimals(2)
        control.setSingleStep(0.05)
    else:
        return None  # no family has a word option yet
    control.setToolTip(item.metadata.get("help", ""))
    control.setKeyboardTracking(False)  # a value is taken when typed whole
    return control


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()
