"""The Train tab's controls for a family's own settings, built from the class its spec
names: a GMM offers its covariance kinds and a rank, sends only what was changed from the
preset (by name, as the command line's --set does), and a family without settings shows
none."""

from __future__ import annotations

from engine.api.families import trainable_families
from engine.local_engine import LocalCatalogue
from gui.train_panel import TrainPanel


def panel_for(qtbot, family: str) -> TrainPanel:
    panel = TrainPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.family.setCurrentIndex(panel.family.findData(family))
    return panel


def test_a_gmm_offers_its_covariances_and_sends_only_what_is_changed(qtbot):
    panel = panel_for(qtbot, "gmm")
    controls = panel.family_settings.controls
    assert set(controls) == {"components", "covariance", "rank"}  # the floor: CLI only
    covariance = controls["covariance"]
    kinds = [covariance.itemData(i) for i in range(covariance.count())]
    assert kinds == ["preset", "full", "diag", "lowrank"]
    assert (controls["rank"].minimum(), controls["rank"].maximum()) == (0, 64)
    assert panel.build_request().settings == ()  # untouched: the preset's
    covariance.setCurrentIndex(covariance.findData("lowrank"))
    controls["rank"].setValue(8)
    request = panel.build_request()
    request.validate()
    assert request.settings == (("covariance", "lowrank"), ("rank", "8"))


def test_a_family_without_settings_shows_no_controls(qtbot):
    others = [f.value for f in trainable_families() if f.value != "gmm"]
    panel = panel_for(qtbot, others[0])
    assert panel.family_settings.controls == {} and panel.family_settings.isHidden()
    assert panel.build_request().settings == ()
