"""The Train tab greys out the bundled data sets a family cannot model, says why beside
them (from the family's spec), and moves off one that was chosen; a family that can model
everything offers everything."""

from __future__ import annotations

import pytest

from engine.api.families import spec_of
from engine.local_engine import LocalCatalogue


@pytest.fixture
def train(qtbot):
    from gui.train_panel import TrainPanel

    panel = TrainPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _enabled(train, key: str) -> bool:
    return train.data.model().item(train.data.findData(key)).isEnabled()


def test_a_binary_family_greys_out_the_colour_sets_and_says_why(train):
    train.family.setCurrentIndex(train.family.findData("gan"))
    train.data.setCurrentIndex(train.data.findData("emoji"))
    train.family.setCurrentIndex(train.family.findData("nade"))
    assert not _enabled(train, "shapes") and not _enabled(train, "emoji")
    assert _enabled(train, "digits")
    assert train.data.currentData() == "digits"  # moved off what it cannot model
    assert train.data_note.isVisible()
    assert train.data_note.text() == spec_of("nade").why_not("shapes")
    assert "shapes and emoji are in colour" in train.data_note.text()
    tip = train.data.itemData(train.data.findData("emoji"), 3)  # Qt.ToolTipRole
    assert tip == spec_of("nade").why_not("emoji")

    train.family.setCurrentIndex(train.family.findData("rbm"))  # Gaussian on colour
    assert _enabled(train, "shapes") and _enabled(train, "emoji")
    train.family.setCurrentIndex(train.family.findData("vae"))
    assert _enabled(train, "shapes") and _enabled(train, "emoji")
    assert not train.data_note.isVisible()
