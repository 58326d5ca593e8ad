"""The Lab warns when the meter finds most samples worthless: noise, copies or one picture
repeated. The figures come from the real meter on those very inputs."""

from __future__ import annotations

import shutil

import pytest
import torch

from engine.data.shapes import ShapesData
from engine.quality import score as scoring
from engine.quality.record import save_quality
from engine.resources import BUNDLED_MODELS_DIR
from gui.app import create_main_window
from gui.quality_line import quality_text, quality_warning
from gui.settings import AppSettings

LAB = 1


def shapes_figures(case: str) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    if case == "noise":
        images = torch.rand(100, 3, 32, 32, generator=g)
    elif case == "repeated":
        images = torch.from_numpy(ShapesData(seed=99).batch(1)[0].transpose(0, 3, 1, 2).copy())
        images = images.repeat(100, 1, 1, 1)
    else:  # the training images themselves
        images = scoring.shapes_reference().data[:100]
    return scoring.measure("shapes", images)


@pytest.mark.parametrize(
    ("case", "words"),
    [("noise", "look like noise"), ("repeated", "repeat one another"), ("copies", "copies")],
)
def test_the_warning_names_what_is_wrong(case, words):
    assert words in quality_warning(shapes_figures(case))


def test_a_bundled_models_figures_need_no_warning():
    import json

    for name in ("ddpm-digits", "gan-shapes", "vae-emoji"):
        kept = json.loads((BUNDLED_MODELS_DIR / f"{name}.quality.json").read_text())
        assert quality_warning(kept["values"]) == "", name


def test_the_lab_shows_the_warning_for_a_model_whose_samples_are_noise(
    qtbot, tmp_path, trash, models_dir
):
    models_dir.mkdir(parents=True)
    for suffix in (".safetensors", ".json"):  # a model "trained in the app"
        shutil.copy(BUNDLED_MODELS_DIR / f"gan-shapes{suffix}", models_dir / f"noisy{suffix}")
    noise = shapes_figures("noise")
    save_quality(models_dir / "noisy.safetensors", noise, 100)
    settings = AppSettings(tmp_path / "config")
    settings.output_dir = tmp_path / "out"
    window = create_main_window(settings)
    qtbot.addWidget(window)
    window.show()
    window.set_mode(LAB)
    try:
        lab = window.lab_panel
        lab.refresh_models(select=str(models_dir / "noisy.safetensors"))
        qtbot.waitUntil(lab.quality_warning.isVisible, timeout=5_000)
        assert "look like noise" in lab.quality_warning.text()
        assert "0% recognisable" in lab.quality.text() == quality_text(noise)
        lab.refresh_models(select="gan-shapes")  # honest figures: no warning
        qtbot.waitUntil(lambda: not lab.quality_warning.isVisible(), timeout=5_000)
    finally:
        window.close_now()
