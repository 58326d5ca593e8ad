"""A family's own training settings as controls on the Train tab, built from the fields of
the settings class its spec names (FamilySpec.train_settings), as the Lab's Sample tab
builds a family's sample options: a GMM's covariance (a list of its choices), rank and
components. Each control starts at "preset" and only what the user changes is sent, by
name, over the preset's (TrainRequest.settings); fields without a "title" are for the
command line only. A new family's settings appear here with no GUI code."""

from __future__ import annotations

import dataclasses
import typing

from PySide6.QtWidgets import QComboBox, QFormLayout, QSpinBox, QWidget

PRESET = "preset"  # what a control shows, and holds, while the preset's value is kept

Control = QComboBox | QSpinBox


class TrainSettingsForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.settings_class: type | None = None
        self.controls: dict[str, Control] = {}
        self.setVisible(False)

    def set_settings_class(self, cls: type | None) -> None:
        """Controls for `cls`'s titled fields, each at "preset" (None: none at all)."""
        if cls is self.settings_class:
            return
        self.settings_class = cls
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.controls = {}
        if cls is not None:
            hints = typing.get_type_hints(cls)
            for item in dataclasses.fields(cls):
                control = _control(item, hints[item.name])
                if control is not None:
                    self.controls[item.name] = control
                    self.layout_.addRow(item.metadata["title"], control)
        self.setVisible(bool(self.controls))

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The settings changed from the preset's, by name, as words."""
        chosen = []
        for name, control in self.controls.items():
            if isinstance(control, QComboBox):
                value = control.currentData()
                if value != PRESET:
                    chosen.append((name, str(value)))
            elif control.value() != control.minimum():  # the minimum is "preset"
                chosen.append((name, str(control.value())))
        return tuple(chosen)

    def reset(self) -> None:
        """Every control back to "preset"."""
        for control in self.controls.values():
            if isinstance(control, QComboBox):
                control.setCurrentIndex(0)
            else:
                control.setValue(control.minimum())


def _control(item: dataclasses.Field, kind: object) -> Control | None:
    if "title" not in item.metadata:
        return None
    control: Control
    if kind is str and "choices" in item.metadata:
        control = QComboBox()
        control.addItem(PRESET, PRESET)
        for choice in item.metadata["choices"]:
            control.addItem(choice, choice)
    elif kind is int and "range" in item.metadata:
        low, high = item.metadata["range"]
        control = QSpinBox()
        control.setRange(int(low) - 1, int(high))  # one below the range: "preset"
        control.setSpecialValueText(PRESET)
        control.setValue(control.minimum())
        control.setKeyboardTracking(False)
    else:
        return None  # a field the form has no control for is for the command line
    control.setToolTip(item.metadata.get("help", ""))
    return control
