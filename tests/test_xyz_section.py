"""Create's X/Y/Z plot section (issue 25): the live count of cells or the sentence that
says which value cannot be read, the plot Generate makes, and a grid's recipe reopened."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.api.requests import Txt2ImgRequest, XyzAxis, XyzPlotRequest
from engine.library.detect import Detected, ModelKind
from engine.library.scan import SINGLE_FILE, LibraryEntry
from gui.library_scanner import LibraryListing


def entry(path: Path, kind: ModelKind) -> LibraryEntry:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return LibraryEntry(path, kind, Detected(kind), SINGLE_FILE, 0)


@pytest.fixture
def panel(qtbot, tmp_path):
    from gui.create_panel import CreatePanel

    panel = CreatePanel()
    qtbot.addWidget(panel)
    models = tmp_path / "models"
    entries = [
        entry(models / "Stable-diffusion" / "dream.safetensors", ModelKind.CHECKPOINT),
        entry(models / "Stable-diffusion" / "real.safetensors", ModelKind.CHECKPOINT),
        entry(models / "VAE" / "kl-f8.safetensors", ModelKind.VAE),
    ]
    panel.models.show_listing(LibraryListing(entries, {}))
    panel.vm.model.set(str(entries[0].path))
    panel.vm.prompt.set("a cat in the snow")
    panel.vm.seed.set("42")
    return panel


def set_row(section, row: int, key: str, values: str) -> None:
    section.types[row].setCurrentIndex(section.types[row].findData(key))
    section.values[row].setText(values)


def test_the_count_follows_the_values_as_typed(panel):
    xyz = panel.xyz
    set_row(xyz, 0, "seed", "1-2")
    set_row(xyz, 1, "cfg", "5, 7, 9")
    assert xyz.count.text() == "6 cells (2 × 3)"
    set_row(xyz, 2, "steps", "10-30 (+10)")
    assert xyz.count.text() == "18 cells (2 × 3 × 3)"
    set_row(xyz, 2, "nothing", "")
    assert xyz.count.text() == "6 cells (2 × 3)"


def test_a_value_that_does_not_read_is_the_sentence_under_the_rows(panel):
    xyz = panel.xyz
    set_row(xyz, 0, "steps", "10, twenty")
    assert "X axis (Steps): 'twenty' is not a whole number" in xyz.count.text()
    set_row(xyz, 0, "seed", "1")
    set_row(xyz, 1, "sampler", "Euler, Eulr")
    assert "Y axis (Sampler): unknown sampler 'Eulr'" in xyz.count.text()
    assert "Euler a" in xyz.count.text()  # the known ones are named


def test_the_values_field_explains_the_syntax(panel):
    set_row(panel.xyz, 0, "cfg", "")
    tip = panel.xyz.values[0].toolTip()
    assert "1-10 (+3)" in tip and "[5]" in tip
    assert panel.xyz.values[0].placeholderText()


def test_generate_makes_the_plot_when_the_section_is_on(panel):
    assert isinstance(panel.build_request(), Txt2ImgRequest)
    xyz = panel.xyz
    xyz.setChecked(True)
    set_row(xyz, 0, "seed", "-1, 7")
    set_row(xyz, 1, "checkpoint", "dream, real")
    set_row(xyz, 2, "vae", "kl-f8, Automatic")
    request = panel.build_request()
    assert isinstance(request, XyzPlotRequest)
    assert request.base.sampling.seed == 42 and request.base.prompt.positive == "a cat in the snow"
    seeds = [int(s) for s in request.axes[0].values.split(",")]
    assert seeds[1] == 7 and 0 <= seeds[0] < 2**32  # -1 drawn, written into the recipe
    dream, real = (str(e.path) for e in panel.listing.entries[:2])
    assert request.axes[1] == XyzAxis("checkpoint", f"{dream}, {real}")  # names as files
    assert request.axes[2].values.endswith(", Automatic")
    request.validate()


def test_a_grids_recipe_reopens_the_form_and_the_axes(panel):
    base = panel.vm.build_request()
    plot = XyzPlotRequest(base=base, axes=(XyzAxis("steps", "5, 10"), XyzAxis("cfg", "4-6")))
    panel.vm.prompt.set("something else")
    panel.apply_request(plot, seed=3)
    assert panel.xyz.isChecked()
    assert panel.vm.prompt.value == "a cat in the snow"
    assert panel.vm.seed.value == "42"  # the plot's own seed, not one cell's
    assert panel.xyz.values[1].text() == "4-6"
    assert panel.xyz.types[2].currentData() == "nothing"
    assert panel.build_request().axes == plot.axes
    panel.apply_request(base, seed=None)  # a single picture's recipe: the plot is off
    assert not panel.xyz.isChecked()


def test_all_fills_a_row_with_every_choice_of_its_axis(panel):
    xyz = panel.xyz
    xyz.setChecked(True)  # an unchecked group box disables what it holds
    set_row(xyz, 0, "checkpoint", "")
    assert xyz.fills[0].isEnabled()
    xyz.fills[0].click()
    assert xyz.values[0].text() == "dream, real"
    set_row(xyz, 1, "sampler", "")
    xyz.fills[1].click()
    assert xyz.values[1].text().startswith("Euler, Euler a, DPM++ 2M")
    set_row(xyz, 2, "seed", "")
    assert not xyz.fills[2].isEnabled()
