"""The Gaussian–Bernoulli RBM against independent oracles: brute-force sums over every
hidden state (with scipy's numerical integral over v for the Gaussian part), exact
enumeration for AIS, scipy's normal distribution for v given h and for a machine with no
weights, properties training must have, and the files, runners and spec around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from engine.api.errors import BadInput
from engine.api.families import spec_of
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, ModelRef, Training
from engine.api.requests import GibbsRequest, SampleRequest, TrainRequest
from engine.context import JobContext
from engine.models.rbm.ais import AisSettings, estimate_log_partition
from engine.models.rbm.files import load_rbm, save_rbm
from engine.models.rbm.machine import Rbm
from engine.models.rbm.pixels import PixelScale, RbmConfig
from engine.models.rbm.runners import held_out_bits
from engine.models.rbm.training import RbmTrainer, RbmTrainSettings
from engine.train.datasets import ArrayData, DataInfo

RBM = Family("rbm")
FAST_AIS = AisSettings(schedule=((0.5, 300), (1.0, 1700)), runs=200, seed=1)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny products: a second thread only waits for the first (tests/test_rbm.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gaussian_rbm(visible: int, hidden: int, scale: float = 0.3, seed: int = 0) -> Rbm:
    g = torch.Generator().manual_seed(seed)
    return Rbm(
        torch.randn(hidden, visible, generator=g, dtype=torch.float64) * scale,
        torch.randn(visible, generator=g, dtype=torch.float64) * 0.5,
        torch.randn(hidden, generator=g, dtype=torch.float64) * 0.5,
        gaussian=True,
    )


def every_binary(units: int) -> np.ndarray:
    codes = np.arange(2**units)[:, None]
    return ((codes >> np.arange(units)) & 1).astype(np.float64)


def energies(rbm: Rbm, v: np.ndarray, h: np.ndarray) -> np.ndarray:
    """E(v, h) = ‖v − b‖²/2 − c·h − hᵀWv for every pair: len(v) x len(h)."""
    w, b, c = (t.numpy() for t in (rbm.weights, rbm.visible_bias, rbm.hidden_bias))
    return 0.5 * ((v - b) ** 2).sum(1)[:, None] - (h @ c)[None, :] - v @ w.T @ h.T


def log_sum_exp(x: np.ndarray, axis=None) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.exp(x - top).sum(axis=axis))


def closed_form_log_z(rbm: Rbm) -> float:
    """Σ_h exp(c·h) ∫ exp(−‖v − b‖²/2 + vᵀWᵀh) dv, the integral a Gaussian's: each term
    (2π)^{D/2} exp(‖b + Wᵀh‖²/2 − ‖b‖²/2)."""
    w, b, c = (t.numpy() for t in (rbm.weights, rbm.visible_bias, rbm.hidden_bias))
    h = every_binary(rbm.hidden)
    shifted = b + h @ w
    terms = h @ c + 0.5 * (shifted**2).sum(1) - 0.5 * b @ b
    return float(log_sum_exp(terms)) + 0.5 * rbm.visible * np.log(2 * np.pi)


# ---------------------------------------------------------------- the density


def test_the_free_energy_is_minus_log_the_sum_over_every_hidden_state():
    rbm = gaussian_rbm(visible=6, hidden=5)
    v = np.random.default_rng(0).normal(size=(20, 6)) * 1.5
    brute = -log_sum_exp(-energies(rbm, v, every_binary(5)), axis=1)
    got = rbm.free_energy(torch.from_numpy(v)).numpy()
    np.testing.assert_allclose(got, brute, rtol=1e-12, atol=1e-12)


def test_exact_log_z_is_scipys_integral_over_v_summed_over_h():
    rbm = gaussian_rbm(visible=2, hidden=3, scale=0.6, seed=4)
    h = every_binary(3)

    def density(v1: float, v0: float) -> float:
        return float(np.exp(-energies(rbm, np.array([[v0, v1]]), h)).sum())

    z, _err = integrate.dblquad(density, -12, 12, -12, 12, epsabs=1e-11)
    assert rbm.exact_log_partition() == pytest.approx(np.log(z), abs=1e-7)


def test_exact_log_z_of_a_larger_machine_is_the_closed_form_sum():
    rbm = gaussian_rbm(visible=12, hidden=8, seed=2)
    assert rbm.exact_log_partition() == pytest.approx(closed_form_log_z(rbm), abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_ais_is_within_a_tenth_of_a_nat_of_the_exact_log_z(seed):
    rbm = gaussian_rbm(visible=12, hidden=8, seed=seed)
    base = torch.zeros(12, dtype=torch.float64)
    estimate = estimate_log_partition(rbm, base, FAST_AIS)
    assert abs(estimate.log_partition - closed_form_log_z(rbm)) < 0.1


# ---------------------------------------------------------------- sampling


def test_v_given_h_is_scipys_normal_around_b_plus_w_h():
    rbm = gaussian_rbm(visible=3, hidden=4, scale=1.0, seed=3)
    h = torch.tensor([[1.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    mean = rbm.visible_probs(h)
    w, b = rbm.weights.numpy(), rbm.visible_bias.numpy()
    np.testing.assert_allclose(mean.numpy()[0], b + h.numpy()[0] @ w, rtol=1e-12)
    g = torch.Generator().manual_seed(0)
    uniform = torch.rand(40_000, 3, generator=g, dtype=torch.float64)
    draws = rbm.visible_draw(mean.expand(40_000, -1), uniform).numpy()
    for i in range(3):
        fit = stats.kstest(draws[:, i], stats.norm(loc=mean[0, i].item(), scale=1.0).cdf)
        assert fit.pvalue > 1e-3
    np.testing.assert_allclose(draws.mean(0), mean.numpy()[0], atol=5 * 1 / np.sqrt(40_000))
    np.testing.assert_allclose(draws.var(0), 1.0, atol=0.05)


def test_gibbs_chains_reach_the_machines_own_marginal():
    """One visible, two hiddens: p(v) ∝ exp(−F(v)), its mean and variance by scipy's quad."""
    rbm = gaussian_rbm(visible=1, hidden=2, scale=1.5, seed=6)
    h = every_binary(2)

    def unnormalised(v: float) -> float:
        return float(np.exp(-energies(rbm, np.array([[v]]), h)).sum())

    z = integrate.quad(unnormalised, -15, 15)[0]
    mean = integrate.quad(lambda v: v * unnormalised(v), -15, 15)[0] / z
    var = integrate.quad(lambda v: (v - mean) ** 2 * unnormalised(v), -15, 15)[0] / z
    chains, steps = 20_000, 40
    g = torch.Generator().manual_seed(0)
    start = rbm.random_visibles(torch.rand(chains, 1, generator=g, dtype=torch.float64))
    noise = torch.rand(chains, steps, 3, generator=g, dtype=torch.float64)
    _means, states = rbm.chains(start, noise)
    seen = states.numpy()[:, 0]
    assert seen.mean() == pytest.approx(mean, abs=5 * np.sqrt(var / chains))
    assert seen.var() == pytest.approx(var, rel=0.05)


# ---------------------------------------------------------------- training


def toy_colour(count: int = 240) -> ArrayData:
    """2 x 2 colour images: two prototypes (red top, blue bottom) with a little noise."""
    rng = np.random.default_rng(0)
    red = np.zeros((3, 2, 2))
    red[0, 0] = 1.0
    blue = np.zeros((3, 2, 2))
    blue[2, 1] = 1.0
    rows = np.where(rng.random(count)[:, None, None, None] < 0.5, red, blue)
    images = np.clip(rows + rng.normal(0, 0.05, rows.shape), 0, 1).astype(np.float32)
    return ArrayData(images, None, DataInfo("folder", 3, 2, 0, (), "toy", count), seed=0)


def exact_mean_log_prob(rbm: Rbm, v: torch.Tensor) -> float:
    """Written out here: −F(v) with numpy, minus the closed-form log Z."""
    f = -log_sum_exp(-energies(rbm, v.numpy(), every_binary(rbm.hidden)), axis=1)
    return float((-f).mean()) - closed_form_log_z(rbm)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_training_raises_the_likelihood_of_colour_images(method):
    data = toy_colour()
    settings = RbmTrainSettings(4, method, 1, 20, 0.01, 0.5, 0.0, "gaussian")
    config = RbmConfig(2, 3, 4, "gaussian", 256)
    trainer = RbmTrainer(config, data, settings, seed=0)
    scale = trainer.scale
    assert scale is not None
    flat = data.images.reshape(len(data.images), -1).double()
    v = scale.to_visible((flat * 255).round().add(0.5) / 256)
    before = exact_mean_log_prob(trainer.rbm().double(), v)
    for _ in range(500):
        losses = trainer.step()
        assert all(np.isfinite(x) for x in losses.values())
    after = exact_mean_log_prob(trainer.rbm().double(), v)
    assert after > before + 1.0


def test_a_diverging_learning_rate_stops_the_training_with_a_sentence(cpu_runtime, tmp_path):
    from engine.train.loop import TrainingDiverged

    output = tmp_path / "wild.safetensors"
    request = TrainRequest(
        family=RBM,
        preset="shapes",
        dataset=DatasetRef("shapes"),
        image_size=8,
        training=Training(steps=200, seed=0, learning_rate=1.0),
        output=str(output),
    )
    with pytest.raises(TrainingDiverged, match="Try a lower learning rate"):
        cpu_runtime.run(request, JobContext(1))


def test_a_binary_machine_still_refuses_colour():
    with pytest.raises(BadInput, match="a binary RBM models black-and-white pixels"):
        RbmConfig(8, 3, 4, "bernoulli").check()
    with pytest.raises(BadInput, match="bernoulli or gaussian"):
        RbmConfig(8, 1, 4, "poisson").check()


# ---------------------------------------------------------------- files and runners


def train_shapes(
    runtime, tmp_path: Path, name: str = "gb", steps: int = 4, resume_from: str | None = None
) -> ModelRef:
    output = tmp_path / f"{name}.safetensors"
    request = TrainRequest(
        family=RBM,
        preset="shapes",
        dataset=DatasetRef("shapes"),
        image_size=8,
        training=Training(steps=steps, seed=3),
        output=str(output),
        resume_from=resume_from,
    )
    runtime.run(request, JobContext(1))
    return ModelRef(RBM, str(output))


def test_a_stopped_shapes_training_resumed_ends_where_one_never_stopped_does(cpu_runtime, tmp_path):
    """The shapes drawn, their dequantisation and the Gibbs draws are all in the state."""
    from safetensors.torch import load_file

    straight = train_shapes(cpu_runtime, tmp_path, "straight", 6)
    half = train_shapes(cpu_runtime, tmp_path, "half", 3)
    resumed = train_shapes(cpu_runtime, tmp_path, "resumed", 6, resume_from=half.id)
    a, b = load_file(straight.id), load_file(resumed.id)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_shapes_machine_is_gaussian_in_its_file_and_the_digits_one_is_not(cpu_runtime, tmp_path):
    from engine.models.common.modelfile import read_model_file

    model = train_shapes(cpu_runtime, tmp_path)
    loaded = load_rbm(Path(model.id))
    assert loaded.rbm.gaussian and loaded.config.visible == "gaussian"
    assert loaded.config.levels == 256 and loaded.scale is not None
    _tensors, record = read_model_file(Path(model.id), RBM, "")
    assert record["config"]["visible"] == "gaussian"
    bundled = Path(__file__).resolve().parent.parent / "resources/models/rbm-digits.safetensors"
    _tensors, record = read_model_file(bundled, RBM, "")
    assert "visible" not in record["config"]  # an old file, as it always was
    digits = load_rbm(bundled)
    assert not digits.rbm.gaussian and digits.scale is None


def test_samples_and_the_explore_chain_agree_and_filters_are_colour(cpu_runtime, tmp_path):
    model = train_shapes(cpu_runtime, tmp_path)
    from engine.models.rbm.spec import GibbsSampleOptions

    options = GibbsSampleOptions(gibbs_steps=7)
    sample = SampleRequest(model=model, seed=2, count=2, options=options, save=False)
    drawn = cpu_runtime.run(sample, JobContext(1)).images
    assert drawn[0].rgb.shape == (8, 8, 3)
    assert not np.array_equal(drawn[0].rgb, drawn[1].rgb)
    request = GibbsRequest(model=model, seed=2, steps=7, image_index=None)
    parts: dict[str, list] = {}
    for image in cpu_runtime.run(request, JobContext(1)).images:
        parts.setdefault(image.info["part"], []).append(image)
    np.testing.assert_array_equal(parts["chain"][-1].rgb, drawn[0].rgb)
    loaded = load_rbm(Path(model.id))
    weights = loaded.rbm.weights.numpy()
    assert len(parts["filter"]) == loaded.config.hidden
    for f in parts["filter"]:
        row = weights[f.info["unit"]].reshape(3, 8, 8)
        # Stretched per filter: its largest weight full brightness, its smallest black.
        top, bottom = (
            np.unravel_index(row.argmax(), row.shape),
            np.unravel_index(row.argmin(), row.shape),
        )
        assert f.rgb[top[1], top[2], top[0]] == 255
        assert f.rgb[bottom[1], bottom[2], bottom[0]] == 0


def test_a_completion_keeps_the_clamped_upper_half_of_a_colour_image(cpu_runtime, tmp_path):
    from engine.models.rbm.explore import clamped_pixels, complete

    g = torch.Generator().manual_seed(0)
    rbm = gaussian_rbm(visible=3 * 4 * 4, hidden=5, seed=1)
    scale = PixelScale(torch.rand(48, generator=g, dtype=torch.float64), torch.full((48,), 0.2))
    config = RbmConfig(4, 3, 5, "gaussian", 256)
    path = tmp_path / "tiny.safetensors"
    save_rbm(path, rbm, torch.zeros(48), config, {"dataset": "folder"}, scale)
    loaded = load_rbm(path)
    image = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (1, 3, 4, 4)) / 255)
    v = loaded.visibles(image)[0]
    filled = complete(loaded.rbm, v, clamped_pixels(4, 3), seed=5, steps=10)
    picture = loaded.pictures(filled[None])[0].double()
    # The clamped rows (the upper two, in every channel) are the image's own levels.
    np.testing.assert_allclose(picture[:, :2].numpy(), image[0, :, :2].numpy(), atol=2e-6)


def test_held_out_bits_of_a_machine_without_weights_are_scipys_normal():
    """With W = 0 the density is a product of normals: N(mean + spread·b, spread²) per
    pixel, on dequantised levels (k + u) / L; AIS from the machine's own visible Gaussian
    is then exact."""
    d, levels = 12, 256
    g = torch.Generator().manual_seed(0)
    rbm = Rbm(
        torch.zeros(3, d, dtype=torch.float64),
        torch.randn(d, generator=g, dtype=torch.float64) * 0.3,
        torch.randn(3, generator=g, dtype=torch.float64),
        gaussian=True,
    )
    mean = torch.rand(d, generator=g, dtype=torch.float64) * 0.5 + 0.25
    spread = torch.rand(d, generator=g, dtype=torch.float64) * 0.2 + 0.1
    config = RbmConfig(2, 3, 3, "gaussian", levels)
    from engine.models.rbm.files import LoadedRbm

    loaded = LoadedRbm(rbm, rbm.visible_bias, config, {}, PixelScale(mean, spread))
    images = torch.from_numpy(np.random.default_rng(2).integers(0, 256, (30, 3, 2, 2)) / 255)
    bits = held_out_bits(loaded, images, FAST_AIS)
    # The same fixed noise (the runner's seed 0), drawn here as the runner documents it.
    k = (images.reshape(30, d) * 255).round()
    u = torch.rand(k.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = ((k + u) / levels).numpy()
    centre, width = (mean + spread * rbm.visible_bias).numpy(), spread.numpy()
    log_p = stats.norm(centre, width).logpdf(x).sum(1)
    expected = (-log_p.mean() / d + np.log(levels)) / np.log(2)
    assert bits == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------- the spec


def test_the_spec_trains_on_every_set_and_says_what_its_bits_are_over():
    spec = spec_of(RBM)
    assert set(spec.trains_on) == {"digits", "shapes", "emoji"}
    assert spec.why_not("shapes") == "" and spec.why_not("emoji") == ""
    assert spec.likelihood.over_for("digits") == "binarised pixels"
    assert spec.likelihood.over_for("shapes").startswith("dequantised pixel levels")


# ---------------------------------------------------------------- the bundle


def test_the_bundled_shapes_rbm_is_gaussian_and_its_figures_are_kept(cpu_runtime):
    import json

    path = Path(__file__).resolve().parent.parent / "resources/models/rbm-shapes.safetensors"
    loaded = load_rbm(path)
    assert loaded.rbm.gaussian and loaded.config.channels == 3 and loaded.scale is not None
    kept = json.loads(path.with_name("rbm-shapes.quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim_estimate"] < 8.0  # a uniform guess over 256 levels
    assert kept["recognisable"] > 0.2
    request = SampleRequest(model=ModelRef(RBM, "rbm-shapes"), seed=0, count=2, save=False)
    images = cpu_runtime.run(request, JobContext(1)).images
    assert images[0].rgb.shape == (32, 32, 3)


def test_the_bundled_shapes_rbm_completes_a_held_out_shape_in_colour(cpu_runtime):
    from engine.quality.score import held_out_images

    model = ModelRef(RBM, "rbm-shapes")
    parts: dict[str, list] = {}
    request = GibbsRequest(model=model, seed=1, steps=20, image_index=7)
    for image in cpu_runtime.run(request, JobContext(1)).images:
        parts.setdefault(image.info["part"], []).append(image)
    assert len(parts["filter"]) == 128
    for f in parts["filter"]:  # each stretched over its own range
        assert f.rgb.min() == 0 and f.rgb.max() == 255
    shape = np.round(held_out_images("shapes")[7].numpy().transpose(1, 2, 0) * 255)
    (shown,) = parts["digit"]
    assert np.abs(shown.rgb.astype(int) - shape).max() <= 1
    for c in parts["completion"]:
        assert c.info["clamped_rows"] == 16
        assert np.abs(c.rgb[:16].astype(int) - shape[:16]).max() <= 1
    assert len({c.rgb[16:].tobytes() for c in parts["completion"]}) > 1
