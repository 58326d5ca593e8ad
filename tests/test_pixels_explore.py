"""Explore → Pixel by pixel on NADEs (a tiny one built here, and the bundled nade-digits),
through the real runtime: a completion keeps the upper half of the binarised held-out
image, the surprise map's bits are the NADE's conditionals computed with numpy from the
file's parameters (read by safetensors alone), and the drawing's last frame is the sample
the SAMPLE runner draws for that seed (its picture thresholded by the seed's uniforms).
The page is driven with the runtime's answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from engine.api import limits
from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import PixelsRequest, SampleRequest
from engine.context import JobContext
from engine.quality.score import held_out_images
from gui.explore.pixels_page import PixelsPage
from tests.tiny_models import tiny_model

NADE = Family("nade")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()  # a NADE's products are tiny (test_runner_contracts)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def models(folder) -> list[ModelRef]:
    return [tiny_model(NADE, folder), ModelRef(NADE, "nade-digits")]


def run(runtime, request: PixelsRequest):
    request.validate()
    return runtime.run(request, JobContext(1)).images


def binarised(index: int) -> np.ndarray:
    """Held-out digit `index` as 8 x 8 of 0/1: ink over half its brightest value."""
    held_out = held_out_images("digits").numpy()
    pixels = held_out[index % len(held_out)].reshape(8, 8).astype(np.float64)
    return (pixels > 0.5 * pixels.max()).astype(np.uint8)


def numpy_bits(model: ModelRef, v: np.ndarray) -> np.ndarray:
    """−log₂ p(v_d | v_<d) for each pixel, one conditional at a time, from the file."""
    t = {
        k.rsplit(".", 1)[-1]: a.astype(np.float64) for k, a in load_file(model_path(model)).items()
    }
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    flat, bits = v.reshape(-1).astype(np.float64), []
    for d in range(len(flat)):
        hidden = sigmoid(t["hidden_bias"] + t["weights_in"][:, :d] @ flat[:d])
        p = sigmoid(t["visible_bias"][d] + t["weights_out"][d] @ hidden)
        bits.append(-np.log2(p if flat[d] else 1 - p))
    return np.array(bits).reshape(v.shape)


@pytest.mark.parametrize("index", [0, 5])
def test_completions_keep_the_upper_half_and_surprise_is_the_chain_rule(
    cpu_runtime, tmp_path, index
):
    for model in models(tmp_path):
        images = run(
            cpu_runtime, PixelsRequest(model=model, what="image", image_index=index, seed=7)
        )
        roles = [i.info["role"] for i in images]
        assert roles == [
            "image",
            "completion",
            "completion",
            "completion",
            "completion",
            "surprise",
        ]
        kept = binarised(index)
        completions = [i for i in images if i.info["role"] == "completion"]
        assert [c.seed for c in completions] == [7, 8, 9, 10]
        for completion in completions:
            grey = completion.rgb[..., 0]
            assert set(np.unique(grey)) <= {0, 255}
            np.testing.assert_array_equal(grey[:4] // 255, kept[:4])
        surprise = images[-1]
        expected = numpy_bits(model, kept)
        np.testing.assert_allclose(np.array(surprise.info["pixel_bits"]), expected, atol=1e-4)
        assert surprise.info["bits"] == pytest.approx(expected.sum(), abs=1e-3)
        assert surprise.rgb.shape == (8, 8, 3)
        # The heat map is brightest where the model was most surprised.
        brightness = surprise.rgb.astype(int).sum(-1)
        assert np.unravel_index(brightness.argmax(), (8, 8)) == np.unravel_index(
            expected.argmax(), (8, 8)
        )


def test_the_drawing_ends_on_the_sample_of_its_seed(cpu_runtime, tmp_path):
    for model in models(tmp_path):
        for seed in (0, 41):
            frames = run(cpu_runtime, PixelsRequest(model=model, what="draw", seed=seed))
            assert 2 <= len(frames) <= limits.DRAWING_FRAMES
            assert [f.info["frame"] for f in frames] == list(range(len(frames)))
            assert frames[-1].info["drawn"] == 64
            last = frames[-1].rgb[..., 0].reshape(-1).astype(np.float64)
            assert set(np.unique(last)) <= {0, 255}
            # The SAMPLE runner's picture is each pixel's p(ink | those before); its draw
            # is ink where the seed's uniform (one a pixel, torch.Generator(seed)) is under p.
            sample = cpu_runtime.run(
                SampleRequest(model=model, seed=seed, count=1, save=False), JobContext(1)
            ).images[0]
            p = sample.rgb[..., 0].reshape(-1) / 255
            # A NADE runs in float64 whatever the device's dtype (files.load_nade).
            generator = torch.Generator().manual_seed(seed)
            u = torch.rand(64, generator=generator, dtype=torch.float64).numpy()
            clear = np.abs(u - p) > 1 / 255  # p is rounded to 1/255: skip the near ties
            assert clear.sum() > 48
            np.testing.assert_array_equal((last / 255)[clear], (u < p)[clear])
            # Each frame adds pixels in reading order; the undrawn ones are grey.
            middle = frames[len(frames) // 2]
            drawn = middle.info["drawn"]
            flat = middle.rgb[..., 0].reshape(-1)
            np.testing.assert_array_equal(flat[:drawn], last[:drawn])
            assert np.all(flat[drawn:] == 128)


def test_a_larger_nade_draws_a_few_pixels_a_frame_and_has_no_held_out_image(cpu_runtime, tmp_path):
    """12 x 12 pixels: 3 a frame, 48 frames; the held-out digits are 8 x 8, so there is
    no held-out image of its size, said in a sentence."""
    from engine.models.nade.files import save_nade
    from engine.models.nade.network import Nade
    from engine.models.nade.pixels import NadeConfig
    from tests.tiny_models import DIGITS_META

    config = NadeConfig(image_size=12, channels=1, hidden=3)
    g = torch.Generator().manual_seed(5)
    tensors = {
        "weights_in": torch.randn(3, 144, generator=g),
        "hidden_bias": torch.randn(3, generator=g),
        "weights_out": torch.randn(144, 3, generator=g),
        "visible_bias": torch.randn(144, generator=g),
    }
    path = tmp_path / "wide.safetensors"
    save_nade(path, Nade.from_tensors(tensors), config, {**DIGITS_META, "image_size": 12})
    model = ModelRef(NADE, str(path))
    frames = run(cpu_runtime, PixelsRequest(model=model, what="draw", seed=2))
    assert len(frames) == 48
    assert [f.info["drawn"] for f in frames[:3]] == [3, 6, 9] and frames[-1].info["drawn"] == 144
    assert all(np.any(f.rgb[..., 0] == 128) for f in frames[:-1])
    assert not np.any(frames[-1].rgb[..., 0] == 128)
    with pytest.raises(BadInput, match="no held-out image of its size"):
        run(cpu_runtime, PixelsRequest(model=model, what="image"))


def test_bad_requests_are_refused_with_a_sentence(tmp_path):
    model = tiny_model(NADE, tmp_path)
    with pytest.raises(BadInput, match="shows draw or image"):
        PixelsRequest(model=model, what="paint").validate()
    with pytest.raises(BadInput, match="number"):
        PixelsRequest(model=model, what="image", image_index=-1).validate()
    with pytest.raises(BadInput, match="pixel-by-pixel view needs a NADE"):
        PixelsRequest(model=ModelRef(Family("gmm"), "gmm-digits")).validate()


def test_a_drawing_and_an_image_do_not_replace_each_other(tmp_path):
    model = tiny_model(NADE, tmp_path)
    draw = PixelsRequest(model=model, what="draw")
    image = PixelsRequest(model=model, what="image")
    assert draw.replace_key != image.replace_key


# ---------------------------------------------------------------- the page


@pytest.fixture
def page(qtbot):
    page = PixelsPage()
    qtbot.addWidget(page)
    page.sent = []
    page.set_submit(lambda request: page.sent.append(request))  # no engine: requests kept
    page.resize(800, 700)
    page.show()
    return page


def answer(page: PixelsPage, runtime, what: str) -> None:
    """What the engine would send back to the page for its last request of `what`."""
    request = next(r for r in reversed(page.sent) if r.what == what)
    page.job_finished(request, runtime.run(request, JobContext(1)))


def test_the_page_plays_the_drawing_and_shows_an_image_completed(
    qtbot, page, cpu_runtime, tmp_path
):
    model = tiny_model(NADE, tmp_path)
    page.set_model(model)
    whats = sorted(r.what for r in page.sent)
    assert whats == ["draw", "image"]
    answer(page, cpu_runtime, "draw")
    assert 2 <= len(page.player.clips) <= limits.DRAWING_FRAMES
    assert page.player.play_button.isChecked()
    answer(page, cpu_runtime, "image")
    assert len(page.completions) == 4
    assert all(not label.pixmap().isNull() for label in page.completions)
    assert "bits" in page.surprise_note.text()
    page.image_index.setValue(9)
    assert page.sent[-1] == PixelsRequest(
        model=model, what="image", image_index=9, seed=page.sent[-1].seed
    )
    page.seed.set_seed(123)
    page.draw_button.click()
    assert page.sent[-1] == PixelsRequest(model=model, what="draw", seed=123)
    # An answer overtaken by a newer question is dropped.
    stale = PixelsRequest(model=model, what="image", image_index=2)
    before = page.image.pixmap().cacheKey()
    page.job_finished(stale, cpu_runtime.run(stale, JobContext(1)))
    assert page.image.pixmap().cacheKey() == before
    page.job_failed(stale, "Cancelled.")  # replaced by a newer spin: not news
    assert page.image_note.text() == ""
    page.job_failed(page.image_request(), "No held-out images here.")
    assert page.image_note.text() == "No held-out images here."


def test_the_explore_tab_offers_pixel_by_pixel_for_a_nade():
    from gui.explore.tab import Tool, tools_of

    assert tools_of(NADE) == (Tool.PIXELS,)


# ---------------------------------------------------------------- a PixelCNN plugs in


PIXELCNN = Family("pixelcnn")


@pytest.mark.parametrize("seed", [0, 9])
def test_a_pixelcnn_draws_to_its_sample_and_completes_below_the_held_out_half(cpu_runtime, seed):
    model = ModelRef(PIXELCNN, "pixelcnn-digits")
    frames = run(cpu_runtime, PixelsRequest(model=model, what="draw", seed=seed))
    sample = cpu_runtime.run(
        SampleRequest(model=model, seed=seed, count=1, save=False), JobContext(1)
    ).images[0]
    np.testing.assert_array_equal(frames[-1].rgb, sample.rgb)  # the same numbers, drawn
    middle = frames[len(frames) // 2]
    flat = middle.rgb[..., 0].reshape(-1)
    drawn = middle.info["drawn"]
    np.testing.assert_array_equal(flat[:drawn], sample.rgb[..., 0].reshape(-1)[:drawn])
    assert np.all(flat[drawn:] == 128)  # not drawn yet: grey

    images = run(cpu_runtime, PixelsRequest(model=model, what="image", image_index=3))
    shown = next(i for i in images if i.info["role"] == "image").rgb[..., 0]
    held_out = held_out_images("digits").numpy()[3].reshape(8, 8)
    levels = np.rint(held_out * 16)  # the PixelCNN's 17 ink levels
    for completion in (i for i in images if i.info["role"] == "completion"):
        upper = np.rint(completion.rgb[:4, :, 0] / 255 * 16)
        np.testing.assert_array_equal(upper, levels[:4])
    surprise = next(i for i in images if i.info["role"] == "surprise")
    assert surprise.info["bits"] > 0 and shown.shape == (8, 8)
