"""The RBM family against independent oracles: brute-force sums over every hidden (and
every joint) configuration for the free energy and log Z, scikit-learn's BernoulliRBM for
the free energy and the pseudo-likelihood, exact enumeration for the Gibbs chains'
distribution, properties training must have, and the sentences bad input gets."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.neural_network import BernoulliRBM

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.requests import SampleRequest
from engine.context import JobContext
from engine.models.rbm.ais import AisSettings, base_rate_biases, estimate_log_partition
from engine.models.rbm.files import load_rbm
from engine.models.rbm.machine import Rbm
from engine.models.rbm.pixels import RbmConfig
from engine.models.rbm.runners import held_out_bits
from engine.models.rbm.spec import GibbsSampleOptions
from engine.models.rbm.training import RbmTrainer, RbmTrainSettings
from engine.train.datasets import ArrayData, DataInfo
from tests.tiny_models import tiny_model
from tests.train_runs import train_to_file

RBM = Family("rbm")
BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "models" / "rbm-digits"
FAST_AIS = AisSettings(schedule=((0.5, 300), (1.0, 1700)), runs=200, seed=1)


@pytest.fixture(autouse=True)
def one_thread():
    """These machines are tiny: a second thread only waits for the first (on a busy CI
    machine, a hundredfold slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_rbm(visible: int, hidden: int, scale: float = 0.8, seed: int = 0) -> Rbm:
    g = torch.Generator().manual_seed(seed)
    return Rbm(
        torch.randn(hidden, visible, generator=g, dtype=torch.float64) * scale,
        torch.randn(visible, generator=g, dtype=torch.float64) * 0.5,
        torch.randn(hidden, generator=g, dtype=torch.float64) * 0.5,
    )


def every_binary(units: int) -> np.ndarray:
    """All 2^units binary rows, written out with numpy (not the module's helper)."""
    codes = np.arange(2**units)[:, None]
    return ((codes >> np.arange(units)) & 1).astype(np.float64)


def energies(rbm: Rbm, v: np.ndarray, h: np.ndarray) -> np.ndarray:
    """E(v, h) = −b·v − c·h − hᵀWv for every pair: len(v) x len(h)."""
    w, b, c = (t.numpy() for t in (rbm.weights, rbm.visible_bias, rbm.hidden_bias))
    return -(v @ b)[:, None] - (h @ c)[None, :] - v @ w.T @ h.T


def log_sum_exp(x: np.ndarray, axis=None) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.exp(x - top).sum(axis=axis))


# ---------------------------------------------------------------- the density


def test_the_free_energy_is_minus_log_the_sum_over_every_hidden_configuration():
    rbm = random_rbm(visible=7, hidden=5)
    v = every_binary(7)[::3]
    brute = -log_sum_exp(-energies(rbm, v, every_binary(5)), axis=1)
    got = rbm.free_energy(torch.from_numpy(v)).numpy()
    np.testing.assert_allclose(got, brute, rtol=1e-12, atol=1e-12)


def test_exact_log_z_is_the_sum_over_every_joint_configuration():
    for visible, hidden in ((12, 8), (6, 9)):  # enumerating h, then enumerating v
        rbm = random_rbm(visible, hidden, seed=visible)
        joint = -energies(rbm, every_binary(visible), every_binary(hidden))
        assert rbm.exact_log_partition() == pytest.approx(log_sum_exp(joint), abs=1e-9)


def sklearn_with(rbm: Rbm, seed: int) -> BernoulliRBM:
    """scikit-learn's RBM holding our weights, as if it had fitted them."""
    sk = BernoulliRBM(n_components=rbm.hidden, random_state=seed)
    sk.components_ = rbm.weights.numpy()
    sk.intercept_hidden_ = rbm.hidden_bias.numpy()
    sk.intercept_visible_ = rbm.visible_bias.numpy()
    sk.n_features_in_ = rbm.visible
    return sk


def test_free_energy_and_pseudo_likelihood_are_scikit_learns():
    """Both of scikit-learn's: `_free_energy` exactly, and `score_samples`, which flips
    one random pixel per row (drawn by np.random.RandomState(random_state).randint(0, D,
    N), as its source does), compared with ours given the same flipped pixels."""
    rbm = random_rbm(visible=20, hidden=7, seed=2)
    v = (np.random.default_rng(0).random((50, 20)) < 0.4).astype(np.float64)
    sk = sklearn_with(rbm, seed=11)
    np.testing.assert_allclose(
        rbm.free_energy(torch.from_numpy(v)).numpy(), sk._free_energy(v), rtol=1e-12, atol=1e-12
    )
    flipped = torch.from_numpy(np.random.RandomState(11).randint(0, 20, 50))
    ours = rbm.pseudo_log_likelihood(torch.from_numpy(v), flipped).numpy()
    np.testing.assert_allclose(ours, sk.score_samples(v), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- AIS


@pytest.mark.parametrize("seed", [0, 1])
def test_ais_is_within_a_tenth_of_a_nat_of_the_exact_log_z(seed):
    rbm = random_rbm(visible=12, hidden=8, seed=seed)
    exact = -energies(rbm, every_binary(12), every_binary(8))
    data = torch.from_numpy(every_binary(12)[::7])
    estimate = estimate_log_partition(rbm, base_rate_biases(data), FAST_AIS)
    assert abs(estimate.log_partition - log_sum_exp(exact)) < 0.1


# ---------------------------------------------------------------- sampling


def test_gibbs_chains_reach_the_machines_own_distribution():
    rbm = random_rbm(visible=4, hidden=3, scale=1.0, seed=5)
    v = every_binary(4)
    joint = -energies(rbm, v, every_binary(3))
    exact = np.exp(log_sum_exp(joint, axis=1) - log_sum_exp(joint))
    chains, steps = 20_000, 30
    g = torch.Generator().manual_seed(0)
    start = (torch.rand(chains, 4, generator=g, dtype=torch.float64) < 0.5).double()
    noise = torch.rand(chains, steps, 7, generator=g, dtype=torch.float64)
    _means, states = rbm.chains(start, noise)
    codes = (states.numpy() * (1 << np.arange(4))).sum(1).astype(int)
    seen = np.bincount(codes, minlength=16) / chains
    assert np.all(np.abs(seen - exact) < 5 * np.sqrt(exact * (1 - exact) / chains) + 1e-3)


def test_a_sample_is_the_mean_visibles_of_its_chains_last_step(cpu_runtime, tmp_path):
    # With no weights the hiddens say nothing: every mean visible is σ(b), whatever k.
    model = tiny_model(RBM, tmp_path)
    loaded = load_rbm(Path(model.id))
    flat = Rbm(
        torch.zeros_like(loaded.rbm.weights), loaded.rbm.visible_bias, loaded.rbm.hidden_bias
    )
    from engine.models.rbm.sampling import gibbs_draws

    means = gibbs_draws(flat, [3, 4], steps=2)
    expected = torch.sigmoid(loaded.rbm.visible_bias).float().expand(2, -1)
    assert torch.allclose(means, expected, atol=1e-6)
    request = SampleRequest(
        model=model, seed=0, count=2, save=False, options=GibbsSampleOptions(gibbs_steps=3)
    )
    outcome = cpu_runtime.run(request, JobContext(1))
    assert outcome.images[0].info["gibbs_steps"] == 3
    with pytest.raises(BadInput, match="1 to 20,000 steps"):
        GibbsSampleOptions(gibbs_steps=0).check(1)


# ---------------------------------------------------------------- training


def toy_data(seed: int = 0) -> ArrayData:
    """3 x 3 binary images: three prototypes, each pixel flipped with probability 0.05."""
    rng = np.random.default_rng(seed)
    prototypes = np.array(
        [[1, 1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 0, 0, 1, 0, 0]]
    )
    rows = prototypes[rng.integers(0, 3, 300)]
    images = np.abs(rows - (rng.random(rows.shape) < 0.05)).reshape(300, 1, 3, 3)
    info = DataInfo("folder", 1, 3, 0, (), "toy", 300)
    return ArrayData(images.astype(np.float32), None, info, seed=0)


def reconstruction_error(rbm: Rbm, v: np.ndarray) -> float:
    """Squared error of v against σ(b + Wᵀσ(c + Wv)), written out with numpy."""
    w, b, c = (t.double().numpy() for t in (rbm.weights, rbm.visible_bias, rbm.hidden_bias))
    hidden = 1 / (1 + np.exp(-(v @ w.T + c)))
    back = 1 / (1 + np.exp(-(hidden @ w + b)))
    return float(((v - back) ** 2).sum(1).mean())


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_training_lowers_the_reconstruction_error_and_raises_the_likelihood(method):
    data = toy_data()
    v = data.images.reshape(300, 9).double()
    settings = RbmTrainSettings(hidden=4, method=method, gibbs_steps=1, batch_size=20)
    trainer = RbmTrainer(RbmConfig(3, 1, 4), data, settings, seed=0)

    def measured() -> tuple[float, float]:
        rbm = trainer.rbm().double()
        log_z = estimate_log_partition(rbm, trainer.base_biases, FAST_AIS).log_partition
        exact = log_sum_exp(-energies(rbm, every_binary(9), every_binary(4)))
        assert abs(log_z - exact) < 0.1  # AIS on a trained machine too
        return reconstruction_error(rbm, v.numpy()), rbm.log_prob(v, log_z).mean().item()

    error_before, likelihood_before = measured()
    for _ in range(600):
        trainer.step()
    error_after, likelihood_after = measured()
    assert error_after < 0.5 * error_before
    assert likelihood_after > likelihood_before + 1.0


train = partial(train_to_file, family=RBM)  # (runtime, folder, name, steps)


def test_the_same_seed_writes_the_same_file(cpu_runtime, tmp_path):
    a, b = (train(cpu_runtime, tmp_path, name, 5) for name in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()


def test_a_stopped_training_resumed_ends_where_one_never_stopped_does(cpu_runtime, tmp_path):
    from safetensors.torch import load_file

    straight = train(cpu_runtime, tmp_path, "straight", 30)  # past an epoch's end (1,257)
    half = train(cpu_runtime, tmp_path, "half", 12)
    resumed = train(cpu_runtime, tmp_path, "resumed", 30, resume_from=str(half))
    a, b = load_file(straight), load_file(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- bad input


def test_colour_is_refused_by_a_binary_machine_with_the_reason():
    # (The colour sets train a Gaussian machine: tests/test_rbm_gaussian.py.)
    with pytest.raises(BadInput, match="a binary RBM models black-and-white pixels; choose digits"):
        RbmConfig(32, 3, 4).check()


def test_non_finite_training_images_are_refused_with_a_sentence():
    images = np.random.default_rng(0).random((20, 1, 4, 4))
    images[3, 0, 1, 1] = np.nan
    info = DataInfo("folder", 1, 4, 0, (), "test", 20)
    data = ArrayData(images.astype(np.float32), None, info, seed=0)
    with pytest.raises(BadInput, match="1 of the 20 training images hold values that are not"):
        RbmTrainer(RbmConfig(4, 1, 3), data, RbmTrainSettings(hidden=3), seed=0)


# ---------------------------------------------------------------- the bundle


def test_the_bundled_digits_rbm_beats_coin_flips_and_its_figure_is_kept():
    from engine.quality.score import held_out_images

    loaded = load_rbm(BUNDLED.with_suffix(".safetensors"))
    bits = held_out_bits(loaded, held_out_images("digits"))
    assert bits < 1.0  # a fair coin a pixel costs one bit
    kept = json.loads(BUNDLED.with_suffix(".quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim_estimate"] == pytest.approx(bits, rel=1e-6)
