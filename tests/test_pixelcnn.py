"""The PixelCNN family against independent oracles: the network's Jacobian (no logit
reads a pixel value at or after its own), brute-force enumeration of every image of a
tiny binary model (the probabilities sum to one; surprise and completion are its
conditionals; draws follow it), properties training must have, and the sentences bad
input gets."""

from __future__ import annotations

import itertools
import json
import math
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.requests import SampleRequest
from engine.context import JobContext
from engine.models.pixelcnn.files import load_pixelcnn, save_pixelcnn
from engine.models.pixelcnn.net import PixelCnn
from engine.models.pixelcnn.pixels import PixelcnnConfig
from engine.models.pixelcnn.runners import held_out_bits
from engine.models.pixelcnn.sampling import (
    complete,
    completing,
    drawing,
    sample,
    surprise,
    window_logits,
)
from engine.models.pixelcnn.spec import PixelSampleOptions
from engine.models.pixelcnn.training import PixelcnnTrainer, PixelcnnTrainSettings
from engine.train.datasets import ArrayData, DataInfo
from tests.tiny_models import DIGITS_META, tiny_model
from tests.train_runs import train_to_file

PIXELCNN = Family("pixelcnn")
BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "models"


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are tiny: a second thread only waits for the first."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_net(config: PixelcnnConfig, seed: int = 0, scale: float = 1.0) -> PixelCnn:
    """A network with weights from the seed, larger than PyTorch's start (scale), so its
    conditionals are far from uniform."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = PixelCnn(config).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    return net


# ---------------------------------------------------------------- the autoregressive property


@pytest.mark.parametrize(
    ("channels", "size", "layers", "cycle"),
    [(1, 5, 5, 1), (3, 5, 5, 1), (1, 7, 4, 2), (3, 7, 4, 2)],
    ids=["grey", "rgb", "grey dilated", "rgb dilated"],
)
def test_each_logit_reads_every_earlier_value_and_nothing_at_or_after_its_own(
    channels, size, layers, cycle
):
    """d logits(c, i, j) / d x(c', a, b) is nonzero exactly when (a, b, c') comes before
    (i, j, c) in reading order, the channels of a pixel in the order R, G, B. Enough
    layers to reach the whole image, so "exactly" checks there is no blind spot: dilated
    1, 2, 1, 2, taps 2 apart must leave no pixel between them unseen."""
    config = PixelcnnConfig(size, channels, 4, 6, layers, 3, 6, dilation_cycle=cycle)
    net = random_net(config)
    x = torch.rand(1, channels, size, size, dtype=torch.float64)  # levels, made continuous
    jacobian = torch.autograd.functional.jacobian(net, x)  # 1 C L H W  1 C H W
    reads = jacobian.abs().sum(dim=(0, 2, 5)) > 0  # C H W (logit)  C H W (input)
    for c, i, j, c_in, a, b in itertools.product(
        range(channels), range(size), range(size), range(channels), range(size), range(size)
    ):
        earlier = (a, b, c_in) < (i, j, c)
        assert bool(reads[c, i, j, c_in, a, b]) == earlier, (c, i, j, c_in, a, b)


# ---------------------------------------------------------------- a model small enough to enumerate

TOY = PixelcnnConfig(2, 1, 2, width=4, layers=2, kernel=3, head=4)  # 2 x 2 binary images


def every_image(config: PixelcnnConfig) -> torch.Tensor:
    """All L^(C·H·W) images, as levels, written out with itertools."""
    values = config.channels * config.image_size**2
    rows = list(itertools.product(range(config.levels), repeat=values))
    shape = (len(rows), config.channels, config.image_size, config.image_size)
    return torch.tensor(rows).reshape(shape)


@pytest.mark.parametrize(
    "config",
    [TOY, PixelcnnConfig(2, 3, 2, width=6, layers=2, kernel=3, head=6)],
    ids=["2x2 binary", "2x2 RGB binary"],
)
def test_the_probabilities_of_every_image_sum_to_one(config):
    images = every_image(config)  # 16 grey images; 4,096 colour ones
    total = net_probabilities(random_net(config, scale=2.0), images).sum()
    assert total == pytest.approx(1.0, abs=1e-12)


def net_probabilities(net: PixelCnn, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net.log_prob(images).exp()


def prefix_probability(joint: dict[tuple, float], prefix: tuple) -> float:
    """P(the first len(prefix) pixel values are `prefix`), summed from the joint table."""
    return sum(p for image, p in joint.items() if image[: len(prefix)] == prefix)


def toy_joint(net: PixelCnn) -> dict[tuple, float]:
    images = every_image(TOY)
    probabilities = net_probabilities(net, images)
    return {
        tuple(im.flatten().tolist()): float(p) for im, p in zip(images, probabilities, strict=True)
    }


def test_surprise_is_minus_log2_of_the_enumerated_conditionals():
    net = random_net(TOY, seed=3, scale=2.0)
    joint = toy_joint(net)
    for image in joint:
        conditionals = [
            prefix_probability(joint, image[: k + 1]) / prefix_probability(joint, image[:k])
            for k in range(4)
        ]
        expected = -np.log2(conditionals).reshape(2, 2)
        got = surprise(net, torch.tensor(image, dtype=torch.float32).reshape(1, 2, 2))
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-12)


def frequencies(drawn: torch.Tensor) -> np.ndarray:
    """How often each of the 16 toy images was drawn, indexed as every_image orders them."""
    codes = (drawn.reshape(len(drawn), 4).long() * torch.tensor([8, 4, 2, 1])).sum(1)
    return np.bincount(codes.numpy(), minlength=16) / len(drawn)


def within_five_sigma(seen: np.ndarray, exact: np.ndarray, count: int) -> bool:
    return bool(np.all(np.abs(seen - exact) < 5 * np.sqrt(exact * (1 - exact) / count) + 1e-3))


def test_samples_follow_the_enumerated_distribution():
    net = random_net(TOY, seed=1, scale=2.0)
    exact = np.array(list(toy_joint(net).values()))
    count = 20_000
    drawn = sample(net, range(count))  # levels 0 and 1 are the values 0.0 and 1.0
    assert within_five_sigma(frequencies(drawn), exact, count)


def test_completing_the_lower_half_draws_from_its_conditional_and_keeps_the_upper():
    net = random_net(TOY, seed=2, scale=2.0)
    joint = toy_joint(net)
    upper = (1, 0)
    image = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    known = torch.tensor([[True, True], [False, False]])
    count = 1000
    drawn = torch.stack([complete(net, image, known, seed) for seed in range(count)])
    assert torch.equal(drawn[:, :, 0], image[:, 0].expand(count, 1, 2))  # kept
    given = prefix_probability(joint, upper)
    exact = np.array([joint[im] / given if im[:2] == upper else 0.0 for im in joint])
    assert within_five_sigma(frequencies(drawn), exact, count)


def test_a_completion_is_seeded_and_its_frames_end_in_it():
    net = random_net(PixelcnnConfig(6, 1, 17, width=4, layers=2, kernel=3, head=4), scale=2.0)
    image = torch.rand(1, 6, 6)
    known = torch.zeros(6, 6, dtype=torch.bool)
    known[:3] = True
    a, b, c = (complete(net, image, known, seed) for seed in (5, 5, 6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    levels = (image * 16).round() / 16
    assert torch.equal(a[:, :3], levels[:, :3])  # the known pixels, at the model's levels
    frames = list(completing(net, image, known, seed=5))
    assert len(frames) == 6 and torch.equal(frames[-1], a)
    assert torch.equal(frames[2], levels * known)  # before the first unknown row: the given


@pytest.mark.parametrize(
    ("layers", "kernel", "cycle"), [(2, 5, 1), (3, 3, 3)], ids=["undilated", "dilated 1, 2, 4"]
)
def test_a_pixels_logits_from_its_window_are_those_of_the_whole_image(layers, kernel, cycle):
    """Drawing reads only the pixels within the network's reach (rows above, columns
    either side), the vertical features once a row and the horizontal stack along a strip
    of the row: the logits must be the full pass's, at every pixel, edges included."""
    config = PixelcnnConfig(12, 3, 8, 6, layers, kernel, 6, dilation_cycle=cycle)  # reach 4, 7
    net = random_net(config)
    levels = torch.randint(0, 8, (2, 3, 12, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = net(levels)
        for i, j in itertools.product(range(12), range(12)):
            window = window_logits(net, levels, i, j)
            torch.testing.assert_close(window, full[:, :, :, i, j], rtol=1e-12, atol=1e-12)


def test_drawing_yields_a_frame_a_row_each_with_its_rows_drawn():
    net = random_net(PixelcnnConfig(4, 3, 8, width=6, layers=2, kernel=3, head=6))
    noise = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    frames = list(drawing(net, noise))
    assert len(frames) == 4
    for row, frame in enumerate(frames):
        assert torch.equal(frame[:, :, : row + 1], frames[-1][:, :, : row + 1])
        assert not frame[:, :, row + 1 :].any()  # not drawn yet: level 0


def test_a_cold_draw_takes_each_conditionals_most_likely_value(cpu_runtime, tmp_path):
    net = random_net(TOY, seed=4, scale=2.0)
    joint = toy_joint(net)
    greedy: tuple = ()
    for _ in range(4):  # the enumerated conditionals' argmax, pixel after pixel
        greedy += (max((0, 1), key=lambda v: prefix_probability(joint, (*greedy, v))),)
    drawn = sample(net, range(50), temperature=0.05)
    assert all(tuple(d.flatten().long().tolist()) == greedy for d in drawn)
    with pytest.raises(BadInput, match="temperature is from 0.05 to 2.0"):
        PixelSampleOptions(temperature=0).check(1)
    model = tiny_model(PIXELCNN, tmp_path)
    options = PixelSampleOptions(temperature=0.5)
    request = SampleRequest(model=model, seed=0, count=2, save=False, options=options)
    outcome = cpu_runtime.run(request, JobContext(1))
    assert outcome.images[0].info["temperature"] == 0.5
    assert options.words() == ("temperature 0.5",)


# ---------------------------------------------------------------- training


def toy_data() -> ArrayData:
    """3 x 3 binary images: three prototypes, each pixel flipped with probability 0.05."""
    rng = np.random.default_rng(0)
    prototypes = np.array(
        [[1, 1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 0, 0, 1, 0, 0]]
    )
    rows = prototypes[rng.integers(0, 3, 300)]
    images = np.abs(rows - (rng.random(rows.shape) < 0.05)).reshape(300, 1, 3, 3)
    info = DataInfo("folder", 1, 3, 0, (), "toy", 300)
    return ArrayData(images.astype(np.float32), None, info, seed=0)


def test_training_lowers_the_exact_negative_log_likelihood():
    data = toy_data()
    settings = PixelcnnTrainSettings(6, 2, 3, 6, batch_size=30, learning_rate=2e-2)
    config = PixelcnnConfig(3, 1, 2, 6, 2, 3, 6)
    trainer = PixelcnnTrainer(config, data, settings, seed=0)
    images = data.images.long()

    def bits() -> float:
        with torch.no_grad():
            return -trainer.net.log_prob(images).mean().item() / 9 / math.log(2)

    before = bits()
    for _ in range(150):
        trainer.step()
    # Three prototypes and 5 % flips: the data's own entropy is under (log₂ 3 + 9 H(0.05))
    # / 9 = 0.46 bits a pixel; a start that knows nothing costs about one.
    assert before > 0.8 and bits() < 0.6


train = partial(train_to_file, family=PIXELCNN, batch_size=8)  # (runtime, folder, name, steps)


def test_the_same_seed_writes_the_same_file(cpu_runtime, tmp_path):
    a, b = (train(cpu_runtime, tmp_path, name, 3) for name in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()


def test_a_stopped_training_resumed_ends_where_one_never_stopped_does(cpu_runtime, tmp_path):
    from safetensors.torch import load_file

    straight = train(cpu_runtime, tmp_path, "straight", 8)
    half = train(cpu_runtime, tmp_path, "half", 3)
    resumed = train(cpu_runtime, tmp_path, "resumed", 8, resume_from=str(half))
    a, b = load_file(straight), load_file(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- bad input


def test_non_finite_training_images_are_refused_with_a_sentence():
    images = np.random.default_rng(0).random((20, 1, 4, 4))
    images[3, 0, 1, 1] = np.nan
    info = DataInfo("folder", 1, 4, 0, (), "test", 20)
    data = ArrayData(images.astype(np.float32), None, info, seed=0)
    config = PixelcnnConfig(4, 1, 17, 4, 1, 3, 4)
    with pytest.raises(BadInput, match="1 of the 20 images hold values that are not numbers"):
        PixelcnnTrainer(config, data, PixelcnnTrainSettings(4, 1, 3, 4), seed=0)


def test_an_image_of_another_shape_is_refused_with_a_sentence():
    net = random_net(PixelcnnConfig(8, 1, 17, 4, 1, 3, 4))
    with pytest.raises(BadInput, match="reads 1-channel images of 8×8 pixels; this image is 3×8×8"):
        surprise(net, torch.rand(3, 8, 8))
    with pytest.raises(BadInput, match="mask of known pixels is 8×8"):
        complete(net, torch.rand(1, 8, 8), torch.ones(4, 4, dtype=torch.bool), seed=0)


def test_settings_no_pixelcnn_can_have_are_refused_with_a_sentence():
    with pytest.raises(BadInput, match="grey or RGB images; this data has 2 channels"):
        PixelcnnConfig(8, 2, 17).check()
    with pytest.raises(BadInput, match="width \\(32\\) is a multiple of its 3 channels"):
        PixelcnnConfig(8, 3, 8, width=32, head=48).check()


def test_settings_saved_before_dilation_existed_load_undilated_and_save_as_they_were():
    old = {"image_size": 8, "channels": 1, "levels": 17, "width": 16, "layers": 4}
    old |= {"kernel": 5, "head": 32}  # pixelcnn-digits' settings, as its file holds them
    config = PixelcnnConfig.from_dict(old)
    assert [config.dilation(layer) for layer in range(4)] == [1, 1, 1, 1]
    assert config.to_dict() == old  # an undilated file's bytes are what they were
    dilated = PixelcnnConfig(32, 3, 8, 24, 8, 3, 48, dilation_cycle=4)
    assert [dilated.dilation(layer) for layer in range(8)] == [1, 2, 4, 8, 1, 2, 4, 8]
    assert PixelcnnConfig.from_dict(dilated.to_dict()) == dilated
    with pytest.raises(BadInput, match="dilation cycle is 1 \\(no dilation\\) to 8"):
        PixelcnnConfig(8, 1, 17, dilation_cycle=0).check()


def test_a_file_whose_weights_do_not_match_its_settings_is_a_bad_model_file(tmp_path):
    path = tmp_path / "edited.safetensors"
    config = PixelcnnConfig(8, 1, 17, 4, 2, 3, 4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        other = PixelCnn(PixelcnnConfig(8, 1, 17, 4, 3, 3, 4))  # a layer more
    save_pixelcnn(path, other, config, DIGITS_META)
    with pytest.raises(BadModelFile, match="does not hold the PixelCNN its settings describe"):
        load_pixelcnn(path)


# ---------------------------------------------------------------- the bundle


@pytest.mark.parametrize("name", ["pixelcnn-digits", "pixelcnn-shapes"])
def test_the_bundled_pixelcnns_beat_a_uniform_guess_and_their_figures_are_kept(name):
    from engine.quality.score import held_out_images

    loaded = load_pixelcnn((BUNDLED / name).with_suffix(".safetensors"))
    bits = held_out_bits(loaded, held_out_images(loaded.meta["dataset"]))
    assert bits < math.log2(loaded.config.levels)  # a uniform guess over the levels
    if name == "pixelcnn-digits":
        assert bits < 2.66  # the GMM's dequantised figure, which bounds its discrete one
    kept = json.loads((BUNDLED / name).with_suffix(".quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim"] == pytest.approx(bits, rel=1e-6)
