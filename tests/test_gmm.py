"""The GMM family against independent oracles: scikit-learn's GaussianMixture for the
log-density and for EM, the moments of a Gaussian for a component's draws, and the
sentences bad input gets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import SampleRequest, TrainRequest
from engine.context import JobContext
from engine.models.common.gmm import Gmm, em_start, em_step
from engine.models.gmm.files import load_gmm
from engine.models.gmm.pixels import GmmConfig, dequantise
from engine.models.gmm.runners import held_out_bits
from engine.models.gmm.spec import MixtureSampleOptions
from engine.models.gmm.training import GmmTrainer, GmmTrainSettings
from engine.train.datasets import ArrayData, DataInfo
from tests.tiny_models import tiny_model

GMM = Family("gmm")
BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "models" / "gmm-digits"


def random_parameters(covariance: str, k: int = 4, d: int = 6, seed: int = 0):
    """Weights, means and covariances (K x D x D or K x D) as numpy float64."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(size=(k, d))
    if covariance == "full":
        a = rng.normal(size=(k, d, d))
        covariances = a @ a.transpose(0, 2, 1) / d + 0.1 * np.eye(d)
    else:
        covariances = rng.uniform(0.05, 2.0, size=(k, d))
    return weights, means, covariances


def ours(weights, means, covariances) -> Gmm:
    cov = torch.from_numpy(covariances)
    scale = torch.linalg.cholesky(cov) if cov.ndim == 3 else cov.sqrt()
    return Gmm(torch.from_numpy(weights), torch.from_numpy(means), scale)


def sklearn_with(weights, means, covariances, covariance: str) -> GaussianMixture:
    """scikit-learn's mixture holding the given parameters, as if it had fitted them."""
    sk = GaussianMixture(n_components=len(weights), covariance_type=covariance)
    sk.weights_, sk.means_, sk.covariances_ = weights, means, covariances
    sk.precisions_cholesky_ = _compute_precision_cholesky(covariances, covariance)
    return sk


def dequantised_digits(count: int) -> torch.Tensor:
    from engine.data.digits import load_digits

    images, _labels = load_digits()
    flat = torch.from_numpy(images[:count]).reshape(count, -1)
    return dequantise(flat, 17, seed=0)


# ---------------------------------------------------------------- the density


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_the_log_density_is_scikit_learns_score_samples(covariance):
    params = random_parameters(covariance)
    x = np.random.default_rng(1).normal(size=(200, 6)) * 1.5
    expected = sklearn_with(*params, covariance).score_samples(x)
    got = ours(*params).log_prob(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_responsibilities_are_scikit_learns_predict_proba(covariance):
    params = random_parameters(covariance, seed=3)
    x = np.random.default_rng(2).normal(size=(100, 6))
    expected = sklearn_with(*params, covariance).predict_proba(x)
    got = ours(*params).responsibilities(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- EM


@pytest.mark.parametrize(("covariance", "reg"), [("full", 1e-3), ("diag", 1e-4)])
def test_em_reaches_scikit_learns_fit_from_the_same_start(covariance, reg):
    z = dequantised_digits(250)
    start = em_start(z, 4, seed=0, covariance=covariance)
    state = start
    for _ in range(120):
        state, _likelihood = em_step(z, state, reg)
    mine = state.gmm().log_prob(z).mean().item()

    cov = start.covariances.numpy()
    precisions = np.linalg.inv(cov) if covariance == "full" else 1.0 / cov
    sk = GaussianMixture(
        n_components=4,
        covariance_type=covariance,
        reg_covar=reg,
        weights_init=start.weights.numpy(),
        means_init=start.means.numpy(),
        precisions_init=precisions,
        max_iter=120,
        tol=1e-8,
    ).fit(z.numpy())
    theirs = sk.score(z.numpy())
    assert abs(mine - theirs) <= 0.01 * abs(theirs)


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_an_em_iteration_never_lowers_the_likelihood(covariance):
    # EM's monotonicity (Dempster, Laird & Rubin 1977, theorem 1), without a variance
    # floor (with one, an M-step maximises a penalised likelihood instead).
    weights, means, covariances = random_parameters(covariance, k=3, d=4, seed=4)
    generator = torch.Generator().manual_seed(3)
    gmm = ours(weights, means, covariances)
    z = torch.cat([gmm.sample(generator) for _ in range(600)]).double()
    state = em_start(z, 3, seed=2, covariance=covariance)
    history = []
    for _ in range(30):
        state, likelihood = em_step(z, state, reg_covar=0.0)
        history.append(likelihood)
    assert all(b >= a - 1e-9 for a, b in zip(history, history[1:], strict=False))
    assert history[-1] > history[0]


# ---------------------------------------------------------------- sampling


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_draws_from_component_k_have_its_mean_and_covariance(covariance):
    weights, means, covariances = random_parameters(covariance, k=3, d=3, seed=5)
    gmm = ours(weights, means, covariances)
    n = 20_000
    generator = torch.Generator().manual_seed(0)
    draws = torch.cat([gmm.sample(generator, component=1) for _ in range(n)]).double().numpy()
    full = covariances[1] if covariance == "full" else np.diag(covariances[1])
    standard_error = np.sqrt(np.diag(full) / n)
    assert np.all(np.abs(draws.mean(0) - means[1]) < 5 * standard_error)
    # A sample covariance's entries have a standard deviation of about sqrt(2/n) times
    # the variances' scale: 5 of them is far beyond chance.
    scale = np.sqrt(np.outer(np.diag(full), np.diag(full)))
    assert np.all(np.abs(np.cov(draws.T) - full) < 5 * np.sqrt(2 / n) * scale)


def test_draws_by_weight_pick_components_as_often_as_their_weights():
    weights, means, covariances = random_parameters("diag", k=3, d=2, seed=1)
    means = means * 100  # far apart: each draw's component is the nearest mean
    gmm = ours(weights, means, covariances)
    generator = torch.Generator().manual_seed(1)
    draws = torch.cat([gmm.sample(generator) for _ in range(6000)]).double()
    nearest = torch.cdist(draws, torch.from_numpy(means)).argmin(1)
    shares = np.bincount(nearest.numpy(), minlength=3) / 6000
    assert np.all(np.abs(shares - weights) < 5 * np.sqrt(weights * (1 - weights) / 6000))


def test_the_sample_option_draws_from_the_chosen_component(cpu_runtime, tmp_path):
    model = tiny_model(GMM, tmp_path)
    loaded = load_gmm(Path(model.id))
    request = SampleRequest(
        model=model, seed=0, count=40, save=False, options=MixtureSampleOptions(component=2)
    )
    outcome = cpu_runtime.run(request, JobContext(1))
    pixels = np.stack([image.rgb[..., 0] for image in outcome.images]) / 255.0
    # The tiny model's components sit apart (uniform means, standard deviation 0.1):
    # the draws' average is nearest the chosen mean (clamped to the pixels' range).
    means = loaded.gmm.means.clamp(0, 1).numpy()
    distance = np.abs(means - pixels.reshape(40, -1).mean(0)).mean(1)
    assert distance.argmin() == 2


def test_a_component_the_mixture_lacks_is_refused_with_a_sentence(cpu_runtime, tmp_path):
    request = SampleRequest(
        model=tiny_model(GMM, tmp_path), count=1, options=MixtureSampleOptions(component=3)
    )
    with pytest.raises(BadInput, match="has 3 components, numbered 0 to 2"):
        cpu_runtime.run(request, JobContext(1))
    with pytest.raises(BadInput, match="-1 for any"):
        MixtureSampleOptions(component=-2).check(1)


# ---------------------------------------------------------------- bad input


def array_data(images: np.ndarray) -> ArrayData:
    n, c, s, _ = images.shape
    info = DataInfo("folder", c, s, 0, (), "test", n)
    return ArrayData(images.astype(np.float32), None, info, seed=0)


def test_non_finite_training_images_are_refused_with_a_sentence():
    images = np.random.default_rng(0).random((20, 1, 4, 4))
    images[3, 0, 1, 1] = np.nan
    config = GmmConfig(4, 1, 2, "diag", 256)
    with pytest.raises(BadInput, match="1 of the 20 training images hold values that are not"):
        GmmTrainer(config, array_data(images), GmmTrainSettings(2), seed=0)


def test_more_components_than_images_are_refused_with_a_sentence():
    images = np.random.default_rng(0).random((5, 1, 4, 4))
    config = GmmConfig(4, 1, 8, "diag", 256)
    with pytest.raises(BadInput, match="8 components needs at least as many training images"):
        GmmTrainer(config, array_data(images), GmmTrainSettings(8), seed=0)


def test_a_full_covariance_over_too_many_values_is_refused_with_a_sentence():
    images = np.random.default_rng(0).random((30, 3, 32, 32))
    config = GmmConfig(32, 3, 2, "full", 256)
    with pytest.raises(BadInput, match="Choose the diagonal covariance"):
        GmmTrainer(config, array_data(images), GmmTrainSettings(2, "full"), seed=0)
    GmmConfig(32, 1, 2, "full", 256).check()  # 1,024 values: offered


# ---------------------------------------------------------------- training and the bundle


def test_the_same_seed_writes_the_same_file(cpu_runtime, tmp_path):
    written = []
    for name in ("a", "b"):
        request = TrainRequest(
            family=GMM,
            preset="digits",
            dataset=DatasetRef("digits"),
            training=Training(steps=2, seed=7),
            output=str(tmp_path / f"{name}.safetensors"),
        )
        cpu_runtime.run(request, JobContext(1))
        written.append((tmp_path / f"{name}.safetensors").read_bytes())
    assert written[0] == written[1]


def test_a_stopped_training_resumed_ends_where_one_never_stopped_does(cpu_runtime, tmp_path):
    from safetensors.torch import load_file

    def train(name: str, steps: int, resume: str | None = None) -> Path:
        output = tmp_path / f"{name}.safetensors"
        request = TrainRequest(
            family=GMM,
            preset="digits",
            dataset=DatasetRef("digits"),
            training=Training(steps=steps, seed=3),
            output=str(output),
            resume_from=resume,
        )
        cpu_runtime.run(request, JobContext(1))
        return output

    straight = train("straight", 4)
    resumed = train("resumed", 4, resume=str(train("half", 2)))
    a, b = load_file(straight), load_file(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_bundled_digits_mixture_is_better_than_uniform_and_its_figure_is_kept():
    from engine.quality.score import held_out_images

    loaded = load_gmm(BUNDLED.with_suffix(".safetensors"))
    assert (loaded.config.covariance, loaded.config.dims) == ("diag", 64)
    bits = held_out_bits(loaded, held_out_images("digits"))
    # A uniform density over 17 levels costs log2(17) bits a value: the mixture beats it.
    assert bits < math.log2(17)
    kept = json.loads(BUNDLED.with_suffix(".quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim"] == pytest.approx(bits, rel=1e-6)
