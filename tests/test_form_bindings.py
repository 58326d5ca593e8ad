"""Widgets bound to view-model fields: a change on either side reaches the other, once,
and never comes back round."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
)

from gui.bindings import (
    bind_check,
    bind_combo,
    bind_line_edit,
    bind_spin,
    bind_text_edit,
)
from gui.viewmodels.fields import Field, text


@pytest.fixture(autouse=True)
def app(qapp):
    """pytest-qt's one QApplication for the session (a QCoreApplication made here would
    leave later widget tests without one)."""
    return qapp


def counted(signal) -> list:
    seen: list = []
    signal.connect(lambda *args: seen.append(args))
    return seen


def test_a_spin_box_and_its_field_follow_each_other_without_echo():
    box, field = QSpinBox(), Field(5, int)
    box.setRange(0, 100)
    bind_spin(box, field)
    assert box.value() == 5  # the field is the truth from the start
    field_changes, box_changes = counted(field.changed), counted(box.valueChanged)
    box.setValue(9)
    assert field.value == 9 and field_changes == [(9,)] and box_changes == [(9,)]
    field.set(12)
    assert box.value() == 12
    assert field_changes == [(9,), (12,)] and box_changes == [(9,)]  # blocked: no echo
    field.set(12)  # the same value again: nobody hears about it
    assert len(field_changes) == 2


def test_a_double_spin_box_gives_floats():
    box, field = QDoubleSpinBox(), Field(1.0, float)
    box.setRange(0, 10)
    bind_spin(box, field)
    box.setValue(2.5)
    assert field.value == 2.5 and isinstance(field.value, float)


def test_a_line_edit_and_a_text_edit():
    edit, line = QPlainTextEdit(), Field("", text)
    bind_text_edit(edit, line)
    changes = counted(line.changed)
    edit.setPlainText("a cat")
    assert line.value == "a cat" and changes == [("a cat",)]
    line.set("a dog")
    assert edit.toPlainText() == "a dog" and len(changes) == 2

    short, field = QLineEdit(), Field("", text)
    bind_line_edit(short, field)
    edits = counted(short.textChanged)
    field.set("42")
    assert short.text() == "42" and edits == []
    short.setText("43")
    assert field.value == "43"


def test_a_check_box():
    box, field = QCheckBox(), Field(False, bool)
    bind_check(box, field)
    toggles = counted(box.toggled)
    field.set(True)
    assert box.isChecked() and toggles == []
    box.setChecked(False)
    assert field.value is False


def test_a_combo_by_text_refuses_what_it_does_not_hold():
    combo, field = QComboBox(), Field("b", text)
    combo.addItems(["a", "b", "c"])
    bind_combo(combo, field, by_text=True)
    assert combo.currentText() == "b"
    combo.setCurrentIndex(2)
    assert field.value == "c"
    field.set("zebra")  # not an item: the field takes the combo's back
    assert combo.currentText() == "c" and field.value == "c"


def test_a_combo_by_data_adds_a_missing_value_when_asked():
    combo, field = QComboBox(), Field("", text)
    combo.addItem("one", "/1")
    combo.addItem("two", "/2")
    added: list[str] = []

    def missing(value: str) -> int:
        added.append(value)
        combo.addItem(value, value)
        return combo.count() - 1

    bind_combo(combo, field, missing=missing)
    assert field.value == "" and combo.currentData() == "" and added == [""]
    changes, indexes = counted(field.changed), counted(combo.currentIndexChanged)
    field.set("/2")
    assert combo.currentData() == "/2" and indexes == [] and changes == [("/2",)]
    field.set("/3")
    assert added == ["", "/3"] and combo.currentText() == "/3" and len(changes) == 2
    combo.setCurrentIndex(0)
    assert field.value == "/1" and len(changes) == 3 and len(indexes) == 1


def test_a_combo_whose_missing_hook_picks_another_item_moves_the_field_there():
    combo, field = QComboBox(), Field("", text)
    combo.addItem("own", "")
    combo.addItem("sharp", "/sharp")
    bind_combo(combo, field, missing=lambda _value: 0)
    combo.setCurrentIndex(1)
    changes = counted(field.changed)
    field.set("/gone")
    assert combo.currentIndex() == 0 and field.value == ""
    assert changes == [("/gone",), ("",)]
