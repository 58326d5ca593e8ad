"""The GMM's components for Explore: the runner against the model file read with safetensors
itself and against scikit-learn's GaussianMixture.predict_proba; the page against a real
runtime's answers (as many tiles as components; a click asks for draws from that one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from safetensors.numpy import load_file
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import ComponentsRequest, SampleRequest
from engine.context import JobContext
from engine.models.common.gmm import Gmm
from engine.models.gmm.files import save_gmm
from engine.models.gmm.pixels import GmmConfig
from engine.quality.score import held_out_images
from gui.explore.components_page import MARKED, PLAIN, ComponentsPage
from tests.tiny_models import DIGITS_META, tiny_model

GMM = Family("gmm")
LEVELS = 17  # the digits' ink levels 0..16


def diag_model(folder: Path) -> ModelRef:
    """Five diagonal components over 8 x 8 grey, apart enough that images pick one."""
    g = torch.Generator().manual_seed(3)
    weights = torch.softmax(torch.randn(5, generator=g), 0)
    means = torch.rand(5, 64, generator=g)
    stds = 0.2 + 0.2 * torch.rand(5, 64, generator=g)
    path = folder / "diag.safetensors"
    config = GmmConfig(image_size=8, channels=1, components=5, covariance="diag", levels=LEVELS)
    save_gmm(path, Gmm(weights, means, stds), config, DIGITS_META)
    return ModelRef(GMM, str(path))


def models(folder: Path) -> list[ModelRef]:
    return [tiny_model(GMM, folder), diag_model(folder)]


def file_tensors(model: ModelRef) -> dict[str, np.ndarray]:
    """The mixture as the file holds it, read by safetensors alone (not our reader)."""
    tensors = load_file(model.id)
    return {
        name.removeprefix("mixture."): value.astype(np.float64) for name, value in tensors.items()
    }


def run(runtime, model: ModelRef, image_index: int | None = None):
    request = ComponentsRequest(model=model, image_index=image_index)
    request.validate()
    return runtime.run(request, JobContext(1)).images


def test_means_and_weights_are_the_files_heaviest_first(cpu_runtime, tmp_path):
    for model in models(tmp_path):
        stored = file_tensors(model)
        images = run(cpu_runtime, model)
        assert len(images) == len(stored["weights"])
        numbers = [image.info["component"] for image in images]
        assert sorted(numbers) == list(range(len(numbers)))
        weights = np.array([image.info["weight"] for image in images])
        np.testing.assert_allclose(weights, stored["weights"][numbers], rtol=1e-6)
        assert np.all(np.diff(weights) <= 0)
        assert weights.sum() == pytest.approx(1.0, abs=1e-12)
        for image in images:
            # A mean on the dequantised scale (k + ½) / 17 is pixel k / 16, drawn grey.
            mean = stored["means"][image.info["component"]].reshape(8, 8)
            grey = np.clip((mean * LEVELS - 0.5) / (LEVELS - 1), 0, 1) * 255
            assert image.rgb.shape == (8, 8, 3)
            assert np.all(image.rgb[..., 0] == image.rgb[..., 2])
            assert np.abs(image.rgb[..., 0].astype(float) - grey).max() <= 0.5 + 1e-4


def sklearn_mixture(stored: dict[str, np.ndarray]) -> GaussianMixture:
    """scikit-learn's mixture holding the file's parameters, as if it had fitted them."""
    scale = stored["scale_tril"]
    covariance = "full" if scale.ndim == 3 else "diag"
    covariances = scale @ scale.transpose(0, 2, 1) if covariance == "full" else scale**2
    sk = GaussianMixture(n_components=len(stored["weights"]), covariance_type=covariance)
    sk.weights_, sk.means_, sk.covariances_ = stored["weights"], stored["means"], covariances
    sk.precisions_cholesky_ = _compute_precision_cholesky(covariances, covariance)
    return sk


@pytest.mark.parametrize("index", [0, 7, 123])
def test_responsibilities_are_scikit_learns_predict_proba(cpu_runtime, tmp_path, index):
    held_out = held_out_images("digits").numpy()
    for model in models(tmp_path):
        stored = file_tensors(model)
        images = run(cpu_runtime, model, image_index=index)
        means, shown = images[:-1], images[-1]
        assert shown.info["image_index"] == index
        pixels = held_out[index % len(held_out)].reshape(-1)
        np.testing.assert_array_equal(shown.rgb[..., 0].reshape(-1), np.round(pixels * 255))
        # The image at its levels' centres: ink k of 0..16 is the point (k + ½) / 17.
        point = (np.round(pixels * (LEVELS - 1)) + 0.5) / LEVELS
        expected = sklearn_mixture(stored).predict_proba(point[None])[0]
        got = np.zeros(len(means))
        for image in means:
            got[image.info["component"]] = image.info["responsibility"]
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert got.sum() == pytest.approx(1.0, abs=1e-9)


def test_a_model_of_another_family_is_refused_with_a_sentence(tmp_path):
    request = ComponentsRequest(model=ModelRef(Family.VAE, "vae-digits"))
    with pytest.raises(BadInput, match="The components view needs a GMM model"):
        request.validate()


# ---------------------------------------------------------------- the page


@pytest.fixture
def page(qtbot):
    page = ComponentsPage()
    qtbot.addWidget(page)
    page.sent = []
    page.set_submit(lambda request: page.sent.append(request))  # no engine: requests kept
    page.resize(700, 600)
    page.show()
    return page


def answer(page: ComponentsPage, runtime) -> None:
    """What the engine would send back to the page for its last components request."""
    request = next(r for r in reversed(page.sent) if isinstance(r, ComponentsRequest))
    page.job_finished(request, runtime.run(request, JobContext(1)))


def test_the_page_shows_a_tile_per_component_and_a_click_draws_from_it(
    qtbot, page, cpu_runtime, tmp_path
):
    model = diag_model(tmp_path)
    page.set_model(model)
    assert page.sent == [ComponentsRequest(model=model)]
    answer(page, cpu_runtime)
    assert len(page.tiles) == 5
    # Tiles added to a shown page show on the next turn of the event loop.
    qtbot.waitUntil(lambda: all(tile.isVisible() for tile in page.tiles), timeout=5_000)
    assert page.tiles[0].text() == f"{page.components[0].info['weight']:.1%}"
    for position in (3, 0):
        qtbot.mouseClick(page.tiles[position], Qt.MouseButton.LeftButton)
        sample = page.sent[-1]
        assert isinstance(sample, SampleRequest)
        assert sample.model == model
        assert sample.options.component == page.components[position].info["component"]
        sample.validate()


def test_explaining_an_image_outlines_the_components_that_explain_it(
    qtbot, page, cpu_runtime, tmp_path
):
    model = diag_model(tmp_path)
    page.set_model(model)
    page.explain.setChecked(True)
    page.image_index.setValue(4)
    assert page.sent[-1] == ComponentsRequest(model=model, image_index=4)
    answer(page, cpu_runtime)
    shares = [tile_info["responsibility"] for tile_info in (c.info for c in page.components)]
    best = int(np.argmax(shares))
    assert page.tiles[best].styleSheet() == MARKED
    assert str(page.components[best].info["component"]) in page.note.text()
    unmarked = [t for i, t in enumerate(page.tiles) if shares[i] < 0.01]
    assert all(tile.styleSheet() == PLAIN for tile in unmarked)
    page.explain.setChecked(False)
    assert page.sent[-1] == ComponentsRequest(model=model)


def test_the_explore_tab_offers_the_components_tool_for_a_gmm():
    from gui.explore.tab import Tool, tools_of

    assert tools_of(GMM) == (Tool.COMPONENTS,)
