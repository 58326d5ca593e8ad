"""The NADE family against independent oracles: the autoregressive property by autograd's
Jacobian, probabilities summed over every image of a tiny model, the conditionals written
out with numpy pixel by pixel, sample frequencies against the enumerated distribution,
properties training must have, and the sentences bad input gets."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.models.nade.explore import complete, drawing, surprise
from engine.models.nade.files import load_nade
from engine.models.nade.network import Nade
from engine.models.nade.pixels import NadeConfig
from engine.models.nade.runners import held_out_bits
from engine.models.nade.sampling import draws, pictures
from engine.models.nade.training import NadeTrainer, NadeTrainSettings
from engine.train.datasets import ArrayData, DataInfo
from tests.tiny_models import tiny_model
from tests.train_runs import train_to_file

NADE = Family("nade")
BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "models" / "nade-digits"


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are tiny: a second thread only waits for the first."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_nade(visible: int, hidden: int, seed: int = 0) -> Nade:
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "weights_in": torch.randn(hidden, visible, generator=g, dtype=torch.float64),
        "hidden_bias": torch.randn(hidden, generator=g, dtype=torch.float64),
        "weights_out": torch.randn(visible, hidden, generator=g, dtype=torch.float64) * 2,
        "visible_bias": torch.randn(visible, generator=g, dtype=torch.float64),
    }
    return Nade.from_tensors(tensors)


def every_binary(units: int) -> np.ndarray:
    """All 2^units binary rows (row k is k's bits, first pixel lowest), with numpy."""
    codes = np.arange(2**units)[:, None]
    return ((codes >> np.arange(units)) & 1).astype(np.float64)


def numpy_conditionals(nade: Nade, v: np.ndarray) -> np.ndarray:
    """p(v_d = 1 | v_<d) for each row, the paper's equations written out pixel by pixel:
    h_d = σ(c + Σ_{j<d} W_j v_j), p = σ(b_d + V_d · h_d)."""
    w, c, vo, b = (t.detach().numpy() for t in nade.tensors().values())

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    out = np.zeros_like(v)
    for n, row in enumerate(v):
        for d in range(len(row)):
            h = sigmoid(c + w[:, :d] @ row[:d])
            out[n, d] = sigmoid(b[d] + vo[d] @ h)
    return out


def numpy_log_prob(nade: Nade, v: np.ndarray) -> np.ndarray:
    p = numpy_conditionals(nade, v)
    return np.log(np.where(v == 1, p, 1 - p)).sum(1)


# ---------------------------------------------------------------- the density


def test_each_conditional_depends_only_on_the_pixels_before_it():
    nade = random_nade(visible=9, hidden=4)
    v = torch.rand(9, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda x: nade.logits(x[None])[0], v)
    assert jacobian.shape == (9, 9)
    later_or_same = torch.ones(9, 9).triu().bool()  # [i, j] with j ≥ i
    assert torch.all(jacobian[later_or_same] == 0)
    assert torch.all(jacobian[~later_or_same].abs() > 0)  # and on every earlier one


def test_the_probabilities_of_every_2x2_image_sum_to_one():
    nade = random_nade(visible=4, hidden=3, seed=1)
    images = torch.from_numpy(every_binary(4))
    probabilities = nade.log_prob(images).detach().exp()
    assert probabilities.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert float(probabilities.min()) > 0


def test_the_log_probability_is_the_papers_product_of_conditionals():
    nade = random_nade(visible=6, hidden=5, seed=2)
    v = every_binary(6)[::5]
    got = nade.log_prob(torch.from_numpy(v)).detach().numpy()
    np.testing.assert_allclose(got, numpy_log_prob(nade, v), rtol=1e-12, atol=1e-12)


def test_surprise_is_minus_log2_of_the_enumerated_conditional():
    """p(v_d | v_<d) as a ratio of sums of the joint over every 2 x 2 image: the images
    sharing the first d + 1 pixels over those sharing the first d."""
    nade = random_nade(visible=4, hidden=3, seed=3)
    everything = every_binary(4)
    joint = np.exp(numpy_log_prob(nade, everything))
    image = np.array([[1.0, 0.0], [1.0, 1.0]])
    v = image.reshape(-1)
    expected = []
    for d in range(4):
        upto = (everything[:, : d + 1] == v[: d + 1]).all(1)
        before = (everything[:, :d] == v[:d]).all(1)
        expected.append(-np.log2(joint[upto].sum() / joint[before].sum()))
    got = surprise(nade, torch.from_numpy(image))
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got.reshape(-1).numpy(), expected, rtol=1e-10)
    assert got.sum().item() == pytest.approx(-np.log2(joint[int(v @ (1 << np.arange(4)))]))


# ---------------------------------------------------------------- sampling


def codes_of(pixels: torch.Tensor) -> np.ndarray:
    return (pixels.numpy() * (1 << np.arange(pixels.shape[1]))).sum(1).astype(int)


def test_samples_come_from_the_models_own_distribution():
    nade = random_nade(visible=4, hidden=3, seed=4)
    exact = np.exp(numpy_log_prob(nade, every_binary(4)))
    count = 20_000
    seen = np.bincount(codes_of(draws(nade, range(count))), minlength=16) / count
    assert np.all(np.abs(seen - exact) < 5 * np.sqrt(exact * (1 - exact) / count) + 1e-3)


def test_a_sample_is_its_seeds_alone_and_its_drawing_ends_on_it():
    nade = random_nade(visible=9, hidden=4, seed=5)
    together = draws(nade, [7, 8, 9])
    assert torch.equal(together[1], draws(nade, [8])[0])
    pictures = list(drawing(nade, seed=8, size=3))
    assert len(pictures) == 9 and all(p.shape == (3, 3) for p in pictures)
    assert torch.equal(pictures[-1].reshape(-1), together[1])
    assert pictures[0].reshape(-1)[1:].eq(0.5).all()  # not drawn yet: grey
    assert len(list(drawing(nade, seed=8, size=3, every=3))) == 3  # a frame a row


def test_a_pictures_pixels_are_the_probabilities_its_draw_thresholded():
    """Pixel d of seed s is ink exactly when seed s's d-th uniform number is under the
    picture's value there (the numbers drawn here as sampling documents them)."""
    nade = random_nade(visible=9, hidden=4, seed=6)
    seeds = [3, 4, 5]
    picture, drawn = pictures(nade, seeds), draws(nade, seeds)
    numbers = torch.stack(
        [
            torch.rand(9, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
            for s in seeds
        ]
    )
    assert torch.all((picture >= 0) & (picture <= 1))
    assert torch.equal((numbers < picture).double(), drawn)


def test_a_completion_keeps_the_known_pixels_and_is_seeded():
    nade = random_nade(visible=16, hidden=5, seed=6)
    image = torch.from_numpy(every_binary(16)[12345].reshape(4, 4))
    known = torch.zeros(4, 4, dtype=torch.bool)
    known[:2] = True  # the upper half
    completions = [complete(nade, image, known, seed) for seed in range(20)]
    assert all(torch.equal(c[known], image[known]) for c in completions)
    assert torch.equal(completions[3], complete(nade, image, known, 3))
    assert len({tuple(c[~known].tolist()) for c in completions}) > 1


def test_completing_the_lower_half_draws_from_the_exact_conditional():
    nade = random_nade(visible=4, hidden=3, seed=7)
    everything = every_binary(4)
    joint = np.exp(numpy_log_prob(nade, everything))
    upper = np.array([0.0, 1.0])
    matching = (everything[:, :2] == upper).all(1)
    exact = joint[matching] / joint[matching].sum()  # over the lower row's 4 values
    image = torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    known = torch.tensor([[True, True], [False, False]])
    count = 3000
    lower = torch.stack([complete(nade, image, known, s)[1] for s in range(count)])
    seen = np.bincount(codes_of(lower), minlength=4) / count
    assert np.all(np.abs(seen - exact) < 5 * np.sqrt(exact * (1 - exact) / count) + 2e-3)


def test_an_image_of_another_size_is_refused_with_a_sentence():
    nade = random_nade(visible=4, hidden=3)
    with pytest.raises(BadInput, match="models 4 black-and-white pixels; the image has 12"):
        surprise(nade, torch.zeros(3, 2, 2))
    with pytest.raises(BadInput, match="mask of known pixels has 9"):
        complete(nade, torch.zeros(2, 2), torch.zeros(3, 3, dtype=torch.bool), 0)


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


def test_training_raises_the_exact_likelihood_towards_the_datas_own():
    data = toy_data()
    v = data.images.reshape(300, 9).double().numpy()
    settings = NadeTrainSettings(hidden=8, batch_size=30, learning_rate=0.02)
    trainer = NadeTrainer(NadeConfig(3, 1, 8), data, settings, seed=0)

    def mean_log_prob() -> float:
        return float(numpy_log_prob(Nade.from_tensors(trainer.nade.tensors()).double(), v).mean())

    before = mean_log_prob()
    losses = [trainer.step()["loss"] for _ in range(300)]
    after = mean_log_prob()
    assert after > before + 1.5
    # The generating process's entropy bounds the likelihood: 3 prototypes, 9 flips.
    flips = -9 * (0.05 * np.log(0.05) + 0.95 * np.log(0.95))
    assert after < -0.9 * (np.log(3) + flips) + 0.5
    assert np.mean(losses[-30:]) == pytest.approx(-after, rel=0.1)


train = partial(train_to_file, family=NADE)  # (runtime, folder, name, steps)


def test_the_same_seed_writes_the_same_file(cpu_runtime, tmp_path):
    a, b = (train(cpu_runtime, tmp_path, name, 5) for name in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()


def test_a_stopped_training_resumed_ends_where_one_never_stopped_does(cpu_runtime, tmp_path):
    straight = train(cpu_runtime, tmp_path, "straight", 30)  # past an epoch's end (20 steps)
    half = train(cpu_runtime, tmp_path, "half", 12)
    resumed = train(cpu_runtime, tmp_path, "resumed", 30, resume_from=str(half))
    a, b = load_file(straight), load_file(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- bad input


def test_a_colour_data_set_is_refused_with_the_reason(cpu_runtime, tmp_path):
    with pytest.raises(BadInput, match="a binary NADE models black-and-white pixels; choose"):
        train(cpu_runtime, tmp_path, "colour", 2, dataset="shapes")


def test_non_finite_training_images_are_refused_with_a_sentence():
    images = np.random.default_rng(0).random((20, 1, 4, 4))
    images[3, 0, 1, 1] = np.nan
    info = DataInfo("folder", 1, 4, 0, (), "test", 20)
    data = ArrayData(images.astype(np.float32), None, info, seed=0)
    with pytest.raises(BadInput, match="1 of the 20 training images hold values that are not"):
        NadeTrainer(NadeConfig(4, 1, 3), data, NadeTrainSettings(hidden=3), seed=0)


@pytest.mark.parametrize("damage", ["missing", "wrong shape", "not finite"])
def test_a_damaged_file_is_a_bad_model_file_sentence(tmp_path, damage):
    path = Path(tiny_model(NADE, tmp_path).id)
    tensors = load_file(path)
    with safe_open(str(path), framework="pt") as opened:  # its settings, kept as they are
        metadata = opened.metadata()
    if damage == "missing":
        del tensors["nade.weights_out"]
    elif damage == "wrong shape":
        tensors["nade.visible_bias"] = torch.zeros(63)
    else:
        tensors["nade.hidden_bias"][0] = float("nan")
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(BadModelFile, match="does not hold the NADE its settings describe"):
        load_nade(path)


# ---------------------------------------------------------------- the bundle


def test_the_bundled_digits_nade_beats_coin_flips_and_its_figure_is_kept():
    from engine.quality.score import held_out_images

    loaded = load_nade(BUNDLED.with_suffix(".safetensors"))
    bits = held_out_bits(loaded, held_out_images("digits"))
    assert bits < 0.5  # a fair coin a pixel costs one bit; pixel base rates alone ~0.7
    kept = json.loads(BUNDLED.with_suffix(".quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim"] == pytest.approx(bits, rel=1e-6)
