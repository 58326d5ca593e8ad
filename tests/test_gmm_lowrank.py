"""The GMM's low-rank-plus-diagonal covariance (a mixture of factor analysers) against
independent oracles: scipy's dense multivariate normal for the log-density, EM's
monotonicity, a known factor-analysis model and scikit-learn's FactorAnalysis for the fit,
the moments of a Gaussian for draws; and the sentences bad settings and bad files get."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.decomposition import FactorAnalysis

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, ModelRef, Training
from engine.api.requests import ComponentsRequest, SampleRequest, TrainRequest
from engine.api.train_settings import parse_pairs
from engine.context import JobContext
from engine.models.common.gmm import Gmm, em_start, em_step
from engine.models.gmm.files import load_gmm, save_gmm
from engine.models.gmm.pixels import GmmConfig
from engine.models.gmm.runners import held_out_bits
from engine.models.gmm.spec import MixtureSampleOptions
from engine.models.gmm.training import GmmTrainSettings
from tests.tiny_models import DIGITS_META

GMM = Family("gmm")


@pytest.fixture(autouse=True)
def one_thread():
    """Products of a few dozen values: on busy cores a second thread only waits (torch's,
    and the BLAS scikit-learn calls)."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


def random_lowrank(k: int = 3, d: int = 7, r: int = 2, seed: int = 0):
    """Weights, means, factors W (K x D x r) and variances ψ (K x D), numpy float64."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(size=(k, d))
    factors = rng.normal(size=(k, d, r))
    variances = rng.uniform(0.1, 1.0, size=(k, d))
    return weights, means, factors, variances


def ours(weights, means, factors, variances) -> Gmm:
    as_torch = torch.from_numpy
    return Gmm(as_torch(weights), as_torch(means), as_torch(np.sqrt(variances)), as_torch(factors))


def dense(factors, variances, k: int) -> np.ndarray:
    return factors[k] @ factors[k].T + np.diag(variances[k])


# ---------------------------------------------------------------- the density


def test_the_log_density_is_scipys_with_the_dense_covariance():
    weights, means, factors, variances = random_lowrank()
    x = np.random.default_rng(1).normal(size=(80, 7)) * 2
    per_component = np.stack(
        [
            multivariate_normal(means[k], dense(factors, variances, k)).logpdf(x)
            for k in range(len(weights))
        ],
        axis=1,
    )
    expected = logsumexp(per_component + np.log(weights), axis=1)
    got = ours(weights, means, factors, variances).log_prob(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- EM


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_em_iteration_never_lowers_the_likelihood(seed):
    # Monotone for the exact M-step (Ghahramani & Hinton's joint μ, W update); no floor.
    params = random_lowrank(k=3, d=6, r=2, seed=seed)
    z = torch.cat([ours(*params).sample(torch.Generator().manual_seed(i)) for i in range(400)])
    state = em_start(z.double(), 3, seed=seed, covariance="lowrank", rank=2)
    history = []
    for _ in range(40):
        state, likelihood = em_step(z.double(), state, reg_covar=0.0)
        history.append(likelihood)
    assert all(b >= a - 1e-9 for a, b in zip(history, history[1:], strict=False))
    assert history[-1] > history[0]


def factor_analysis_data(n: int = 4000, d: int = 10, r: int = 2):
    """Points from x = μ + W z + ε, z ~ N(0, I_r), ε ~ N(0, diag ψ): and the truth."""
    rng = np.random.default_rng(7)
    factors = rng.normal(size=(d, r))
    variances = rng.uniform(0.1, 0.5, size=d)
    mean = rng.normal(size=d)
    x = mean + rng.normal(size=(n, r)) @ factors.T + rng.normal(size=(n, d)) * np.sqrt(variances)
    return x, factors @ factors.T + np.diag(variances)


def test_one_component_recovers_a_known_factor_model_and_scores_as_scikit_learn():
    x, truth = factor_analysis_data()
    z = torch.from_numpy(x)
    state = em_start(z, 1, seed=0, covariance="lowrank", rank=2)
    for _ in range(200):
        state, _likelihood = em_step(z, state, reg_covar=1e-6)
    w, psi = state.factors[0].numpy(), state.covariances[0].numpy()
    fitted = w @ w.T + np.diag(psi)
    assert np.linalg.norm(fitted - truth) / np.linalg.norm(truth) < 0.06
    mine = state.gmm().log_prob(z).mean().item()
    theirs = FactorAnalysis(n_components=2, random_state=0).fit(x).score(x)
    assert abs(mine - theirs) <= 0.01 * abs(theirs)


# ---------------------------------------------------------------- sampling


def test_draws_from_component_k_have_its_mean_and_covariance():
    weights, means, factors, variances = random_lowrank(k=3, d=3, r=1, seed=5)
    gmm = ours(weights, means, factors, variances)
    n = 20_000
    generator = torch.Generator().manual_seed(0)
    draws = torch.cat([gmm.sample(generator, component=1) for _ in range(n)]).double().numpy()
    full = dense(factors, variances, 1)
    assert np.all(np.abs(draws.mean(0) - means[1]) < 5 * np.sqrt(np.diag(full) / n))
    scale = np.sqrt(np.outer(np.diag(full), np.diag(full)))
    assert np.all(np.abs(np.cov(draws.T) - full) < 5 * np.sqrt(2 / n) * scale)


# ---------------------------------------------------------------- the file and the runners


def lowrank_file(folder: Path, rank: int = 3) -> Path:
    """Four rank-`rank` components over 8 x 8 grey (digits' 17 levels)."""
    g = torch.Generator().manual_seed(2)
    weights = torch.softmax(torch.randn(4, generator=g), 0)
    means = torch.rand(4, 64, generator=g)
    stds = 0.1 + 0.1 * torch.rand(4, 64, generator=g)
    factors = 0.05 * torch.randn(4, 64, rank, generator=g)
    path = folder / "lowrank.safetensors"
    config = GmmConfig(8, 1, 4, "lowrank", 17, rank)
    save_gmm(path, Gmm(weights, means, stds, factors), config, DIGITS_META)
    return path


def test_a_saved_lowrank_mixture_loads_as_it_was(tmp_path):
    path = lowrank_file(tmp_path)
    loaded = load_gmm(path)
    stored = load_file(path)  # safetensors' own reader
    assert (loaded.config.covariance, loaded.config.rank, loaded.gmm.rank) == ("lowrank", 3, 3)
    assert torch.equal(loaded.gmm.factors, stored["mixture.factors"])
    assert torch.equal(loaded.gmm.scale_tril, stored["mixture.scale_tril"])


def test_sample_components_and_bits_work_for_a_lowrank_mixture(cpu_runtime, tmp_path):
    from engine.quality.score import held_out_images

    model = ModelRef(GMM, str(lowrank_file(tmp_path)))
    options = MixtureSampleOptions(component=2)
    request = SampleRequest(model=model, seed=0, count=3, save=False, options=options)
    images = cpu_runtime.run(request, JobContext(1)).images
    assert len(images) == 3 and images[0].rgb.shape == (8, 8, 3)
    shown = cpu_runtime.run(ComponentsRequest(model=model, image_index=5), JobContext(1)).images
    shares = [image.info["responsibility"] for image in shown[:-1]]
    assert len(shares) == 4 and sum(shares) == pytest.approx(1.0, abs=1e-6)
    bits = held_out_bits(load_gmm(Path(model.id)), held_out_images("digits"))
    assert np.isfinite(bits)


def rewritten(path: Path, change) -> Path:
    """The file with its tensors changed by `change` (its settings kept)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, str(path), metadata)
    return path


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.update({"mixture.factors": t["mixture.factors"][:, :, :2].contiguous()}),
        lambda t: t.pop("mixture.factors"),
        lambda t: t["mixture.factors"].__setitem__((0, 0, 0), float("nan")),
        lambda t: t["mixture.scale_tril"].__setitem__((1, 3), 0.0),
    ],
    ids=["wrong rank", "no factors", "not a number", "zero spread"],
)
def test_a_file_whose_tensors_do_not_fit_is_refused_with_a_sentence(tmp_path, change):
    path = rewritten(lowrank_file(tmp_path), change)
    with pytest.raises(BadModelFile, match="4 rank-3 components over 64 values"):
        load_gmm(path)


def test_a_file_whose_rank_exceeds_its_dimension_is_refused_with_a_sentence(tmp_path):
    path = lowrank_file(tmp_path, rank=65)
    with pytest.raises(BadModelFile, match="rank is 1 to the 64 values an image has"):
        load_gmm(path)


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        (GmmTrainSettings(covariance="lowrank", rank=0), r"rank \(.*\) is 1 to 64, not 0"),
        (GmmTrainSettings(covariance="lowrank", rank=65), r"rank \(.*\) is 1 to 64, not 65"),
        (GmmTrainSettings(covariance="banana"), "'diag', 'full' or 'lowrank'"),
        (GmmTrainSettings(components=0), r"setting components \(.*\) is 1 to 1000, not 0"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence(settings, sentence):
    with pytest.raises(BadInput, match=sentence):
        settings.check()


def test_a_rank_over_the_images_values_is_refused_with_a_sentence():
    with pytest.raises(BadInput, match="rank is 1 to the 16 values an image has"):
        GmmConfig(4, 1, 2, "lowrank", 256, rank=17).check()
    with pytest.raises(BadInput, match="a diag one has none"):
        GmmConfig(4, 1, 2, "diag", 256, rank=3).check()


def train_request(output: Path, steps: int, **more) -> TrainRequest:
    return TrainRequest(
        family=GMM,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, seed=0),
        output=str(output),
        **more,
    )


def test_settings_by_name_train_a_lowrank_file_and_a_resume_keeps_them(cpu_runtime, tmp_path):
    named = (("covariance", "lowrank"), ("rank", "2"), ("components", "3"))
    first = tmp_path / "first.safetensors"
    cpu_runtime.run(train_request(first, 2, settings=named), JobContext(1))
    loaded = load_gmm(first)
    assert (loaded.config.covariance, loaded.gmm.rank, loaded.gmm.components) == ("lowrank", 2, 3)
    assert loaded.meta["train"]["rank"] == 2
    # Continued without naming them (as the Train tab does): the file's settings, not the
    # preset's 60 diagonal components.
    again = tmp_path / "again.safetensors"
    cpu_runtime.run(train_request(again, 3, resume_from=str(first)), JobContext(1))
    assert (load_gmm(again).config.covariance, load_gmm(again).gmm.rank) == ("lowrank", 2)


@pytest.mark.parametrize(
    ("words", "sentence"),
    [
        ((("colour", "3"),), "GMM training takes components, covariance, rank, reg_covar"),
        ((("rank", "eight"),), "rank is a number \\(int\\), not 'eight'"),
        ((("covariance", "lowrank"), ("rank", "100")), "rank \\(.*\\) is 1 to 64, not 100"),
    ],
)
def test_bad_settings_by_name_are_refused_with_a_sentence(cpu_runtime, tmp_path, words, sentence):
    request = train_request(tmp_path / "x.safetensors", 1, settings=words)
    with pytest.raises(BadInput, match=sentence):
        request.validate()
        cpu_runtime.run(request, JobContext(1))
    with pytest.raises(BadInput, match="NAME=VALUE"):
        parse_pairs(["rank8"])


def test_the_command_lines_take_settings_by_name(tmp_path):
    from engine import reproduce
    from engine.cli_train import _train_request
    from engine.commands import build_parser

    words = ["train", "--model", "gmm", "--set", "covariance=lowrank", "--set", "rank=4"]
    args = build_parser("test").parse_args([*words, "--out", str(tmp_path)])
    request = _train_request(args)
    request.validate()
    assert request.settings == (("covariance", "lowrank"), ("rank", "4"))
    # Remaking a bundled model with other settings would overwrite it: --out is required.
    with pytest.raises(SystemExit, match="give --out PATH too"):
        reproduce.main(["gmm", "--set", "rank=4"])
