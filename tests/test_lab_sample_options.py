"""The Lab's Sample tab shows each family's own options as controls, built from the
options class its spec names (no GUI code per family): an RBM's Gibbs steps, a GMM's
component, a flow's temperature. They reach the request, come back with Use these
parameters, survive a restart, and are gone for a family that has none."""

from __future__ import annotations

import pytest

from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.local_engine import LocalCatalogue
from engine.models.gmm.spec import MixtureSampleOptions
from engine.models.rbm.spec import GibbsSampleOptions
from engine.models.realnvp.spec import FlowSampleOptions


@pytest.fixture
def panel(qtbot):
    from gui.lab_panel import LabPanel

    panel = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _labels(panel) -> list[str]:
    layout = panel.options_form.layout_
    return [
        layout.itemAt(i, layout.ItemRole.LabelRole).widget().text()
        for i in range(layout.rowCount())
    ]


def test_each_family_shows_its_own_options_and_they_reach_the_request(panel):
    panel.refresh_models(select="rbm-digits")
    assert panel.options_form.isVisible() and _labels(panel) == ["Gibbs steps"]
    steps = panel.options_form.controls["gibbs_steps"]
    assert steps.value() == 1000 and steps.maximum() == 20_000
    steps.setValue(50)
    assert panel.build_request().options == GibbsSampleOptions(gibbs_steps=50)

    panel.refresh_models(select="realnvp-digits")
    assert _labels(panel) == ["Temperature"]
    panel.options_form.controls["temperature"].setValue(0.5)
    assert panel.build_request().options == FlowSampleOptions(temperature=0.5)

    panel.refresh_models(select="vae-digits")  # a kept latent code is not a control
    assert not panel.options_form.isVisible()
    panel.refresh_models(select="ddpm-digits")  # diffusion has its own controls
    assert not panel.options_form.isVisible() and panel.steps.isVisible()


def test_use_these_parameters_and_a_restart_bring_the_options_back(panel, qtbot):
    request = SampleRequest(
        model=ModelRef(Family("rbm"), "rbm-digits"),
        seed=3,
        count=4,
        grid=True,
        options=GibbsSampleOptions(gibbs_steps=77),
    )
    panel.apply_request(request, None)
    assert panel.options_form.controls["gibbs_steps"].value() == 77
    state = panel.state()

    from gui.lab_panel import LabPanel

    again = LabPanel(catalogue=LocalCatalogue())
    qtbot.addWidget(again)
    again.restore(state)
    assert again.options_form.controls["gibbs_steps"].value() == 77
    assert again.build_request().options == GibbsSampleOptions(gibbs_steps=77)


def test_the_details_list_a_familys_own_options_by_their_titles():
    from gui.details_rows import option_rows

    assert option_rows(GibbsSampleOptions(gibbs_steps=77)) == [("Gibbs steps", 77)]
    assert option_rows(FlowSampleOptions(temperature=0.7)) == [("Temperature", 0.7)]
    assert option_rows(MixtureSampleOptions()) == []  # -1: any component, nothing to say
    assert option_rows(MixtureSampleOptions(component=3)) == [("Component", 3)]
