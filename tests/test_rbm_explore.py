"""The RBM's Gibbs chain for Explore, through the real runtime, on a tiny RBM and the
bundled rbm-digits: the filters against the weight matrix read with safetensors itself;
the filmstrip's last frame against the SAMPLE runner's picture; the clamped completion's
upper half against the held-out digit binarised here; the page against real answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import GibbsRequest, SampleRequest
from engine.context import JobContext
from engine.models.rbm.files import save_rbm
from engine.models.rbm.machine import Rbm
from engine.models.rbm.spec import GibbsSampleOptions
from engine.quality.score import held_out_images
from gui.explore.gibbs_page import GibbsPage
from tests.tiny_models import DIGITS_META, TINY_RBM, tiny_model

RBM = Family("rbm")
BUNDLED = ModelRef(RBM, "rbm-digits")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny products: a second thread only waits for the first (tests/test_rbm.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def models(folder) -> list[ModelRef]:
    return [tiny_model(RBM, folder), BUNDLED]


def run(runtime, **fields):
    request = GibbsRequest(**fields)
    request.validate()
    parts: dict[str, list] = {}
    for image in runtime.run(request, JobContext(1)).images:
        parts.setdefault(image.info["part"], []).append(image)
    return parts


def test_the_filters_are_the_weight_rows_strongest_first(cpu_runtime, tmp_path):
    for model in models(tmp_path):
        weights = load_file(str(model_path(model)))["rbm.weights"].astype(np.float64)
        filters = run(cpu_runtime, model=model, steps=3)["filter"]
        units = [f.info["unit"] for f in filters]
        assert sorted(units) == list(range(len(weights)))
        norms = np.sqrt((weights**2).sum(1))[units]
        np.testing.assert_allclose([f.info["norm"] for f in filters], norms, rtol=1e-12)
        assert np.all(np.diff(norms) <= 0)
        for f in filters:
            row = weights[f.info["unit"]]
            picture = np.array(f.info["weights"])
            np.testing.assert_array_equal(picture, np.reshape(row, (8, 8)))
            # The diverging map: ink-loving weights warm (red over blue), the others blue.
            red, blue = f.rgb[..., 0].astype(int), f.rgb[..., 2].astype(int)
            big = np.abs(picture) > 0.05 * np.abs(row).max()
            assert np.all(red[big & (picture > 0)] > blue[big & (picture > 0)])
            assert np.all(blue[big & (picture < 0)] > red[big & (picture < 0)])
            strongest = np.unravel_index(np.abs(picture).argmax(), (8, 8))
            assert tuple(f.rgb[strongest]) in {(255, 170, 60), (70, 150, 255)}


@pytest.mark.parametrize(("seed", "steps"), [(0, 1), (7, 37), (3, 1000)])
def test_the_filmstrips_last_frame_is_the_sample_of_that_seed_and_length(
    cpu_runtime, tmp_path, seed, steps
):
    for model in models(tmp_path):
        chain = run(cpu_runtime, model=model, seed=seed, steps=steps)["chain"]
        expected = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        assert [f.info["step"] for f in chain] == sorted(
            {s for s in expected if s <= steps} | {steps}
        )
        assert all(f.info["seed"] == seed for f in chain)
        # Step 0 is the chain's random start: binary pixels.
        assert set(np.unique(chain[0].rgb)) <= {0, 255}
        options = GibbsSampleOptions(gibbs_steps=steps)
        sample = SampleRequest(model=model, seed=seed, count=1, options=options, save=False)
        drawn = cpu_runtime.run(sample, JobContext(1)).images[0]
        np.testing.assert_array_equal(chain[-1].rgb, drawn.rgb)


@pytest.mark.parametrize("index", [0, 5, 321])
def test_the_clamped_pixels_are_the_binarised_digits_upper_half(cpu_runtime, tmp_path, index):
    held = held_out_images("digits").numpy()
    ink = held > 0.5 * held.max()  # the binary families' rule: over half the brightest
    digit = ink[index % len(held)].reshape(8, 8) * 255
    for model in models(tmp_path):
        parts = run(cpu_runtime, model=model, seed=11, steps=50, image_index=index)
        (shown,) = parts["digit"]
        np.testing.assert_array_equal(shown.rgb[..., 0], digit)
        completions = parts["completion"]
        assert [c.seed for c in completions] == [11, 12, 13, 14]
        for c in completions:
            assert c.info["clamped_rows"] == 4
            for channel in range(3):
                np.testing.assert_array_equal(c.rgb[:4, :, channel], digit[:4])
        if model == BUNDLED:  # (six saturated units may fill it alike whatever the seed)
            lower = {c.rgb[4:].tobytes() for c in completions}
            assert len(lower) > 1  # the seeds fill the lower half differently


def test_seeds_reproduce_and_differ(cpu_runtime, tmp_path):
    model = tiny_model(RBM, tmp_path)
    first = run(cpu_runtime, model=model, seed=5, steps=20, image_index=2)
    again = run(cpu_runtime, model=model, seed=5, steps=20, image_index=2)
    other = run(cpu_runtime, model=model, seed=6, steps=20, image_index=2)
    for part in ("chain", "completion"):
        for a, b in zip(first[part], again[part], strict=True):
            np.testing.assert_array_equal(a.rgb, b.rgb)
    assert not np.array_equal(first["chain"][0].rgb, other["chain"][0].rgb)
    # Completion i is seed + i's: the next seed's first completion is this one's second.
    np.testing.assert_array_equal(first["completion"][1].rgb, other["completion"][0].rgb)


def test_without_its_images_a_digit_is_refused_and_the_chain_still_shown(cpu_runtime, tmp_path):
    # An RBM trained on a folder that has since been moved away.
    g = torch.Generator().manual_seed(0)
    rbm = Rbm(torch.randn(6, 64, generator=g), torch.zeros(64), torch.zeros(6))
    gone = str(tmp_path / "gone")
    path = tmp_path / "moved.safetensors"
    save_rbm(path, rbm, torch.zeros(64), TINY_RBM, {**DIGITS_META, "source": gone, "dataset": gone})
    model = ModelRef(RBM, str(path))
    with pytest.raises(BadInput, match="are not here, so there is no held-out digit"):
        run(cpu_runtime, model=model, steps=3, image_index=1)
    parts = run(cpu_runtime, model=model, steps=3, image_index=None)
    assert sorted(parts) == ["chain", "filter"]


def test_bad_requests_are_refused_with_a_sentence(tmp_path):
    with pytest.raises(BadInput, match="The Gibbs chain view needs an RBM model"):
        GibbsRequest(model=ModelRef(Family("gmm"), "gmm-digits")).validate()
    with pytest.raises(BadInput, match="Gibbs steps must be between 1 and 20000"):
        GibbsRequest(model=BUNDLED, steps=0).validate()
    with pytest.raises(BadInput, match="Completions of an image"):
        GibbsRequest(model=BUNDLED, completions=0).validate()


# ---------------------------------------------------------------- the page


@pytest.fixture
def page(qtbot):
    page = GibbsPage()
    qtbot.addWidget(page)
    page.sent = []
    page.set_submit(lambda request: page.sent.append(request))  # no engine: requests kept
    page.resize(1000, 700)
    page.show()
    return page


def answer(page: GibbsPage, runtime, request=None) -> None:
    """What the engine would send back to the page for its last request (or `request`)."""
    request = request or page.sent[-1]
    page.job_finished(request, runtime.run(request, JobContext(1)))


def test_the_page_shows_filters_a_playing_chain_and_completions(qtbot, page, cpu_runtime):
    page.set_model(BUNDLED)
    assert page.sent == [GibbsRequest(model=BUNDLED, seed=0, steps=1000, image_index=0)]
    page.steps.setValue(200)
    page.seed.setValue(4)
    page.image_index.setValue(9)
    request = page.sent[-1]
    assert request == GibbsRequest(model=BUNDLED, seed=4, steps=200, image_index=9)
    answer(page, cpu_runtime, page.sent[0])  # overtaken by the newer moves: dropped
    assert page.filters.tiles == []
    answer(page, cpu_runtime)
    assert len(page.filters.tiles) == 100
    assert [t.caption for t in page.chain.tiles] == [
        "0",
        "1",
        "2",
        "5",
        "10",
        "20",
        "50",
        "100",
        "200",
    ]
    assert [t.caption for t in page.completions.tiles] == [
        "digit",
        *(str(s) for s in range(4, 8)),
    ]
    qtbot.waitUntil(lambda: all(t.isVisible() for t in page.chain.tiles), timeout=5_000)
    assert len(page.player.clips) == 9 and page.player.play_button.isChecked()
    np.testing.assert_array_equal(page.player.clips[-1], page.shown["chain"][-1].rgb)
    assert "100 hidden units" in page.note.text()
    page.complete.setChecked(False)
    assert page.sent[-1] == GibbsRequest(model=BUNDLED, seed=4, steps=200, image_index=None)
    assert not page.image_index.isEnabled()
    answer(page, cpu_runtime)
    assert page.completions.tiles == [] and len(page.chain.tiles) == 9


def test_a_failure_shows_its_sentence(page):
    page.set_model(BUNDLED)
    page.job_failed(page.sent[-1], "The images are gone.")
    assert page.note.text() == "The images are gone."


def test_the_explore_tab_offers_the_gibbs_tool_for_an_rbm():
    from gui.explore.tab import Tool, tools_of

    assert tools_of(RBM) == (Tool.GIBBS,)
