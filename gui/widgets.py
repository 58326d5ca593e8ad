"""Small widget factories that take their ranges from engine.api.limits (one source)."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from engine.api.limits import Limit

QT_INT_MAX = 2**31 - 1  # a QSpinBox holds a C int


def spin_box(limit: Limit, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(int(limit.low), min(int(limit.high), QT_INT_MAX))
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(f"{limit.name}: {limit.low}–{limit.high}")
    return box


def double_spin_box(limit: Limit, value: float, step: float, decimals: int) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(float(limit.low), float(limit.high))
    box.setSingleStep(step)
    box.setValue(value)
    return box
