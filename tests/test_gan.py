"""The GAN family: networks, losses against hand values, EMA, files, bundled weights, runners."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.outcomes import FramesOutcome, ModelOutcome
from engine.api.parts import DatasetRef, Latents, ModelRef, Training
from engine.api.requests import DecodeRequest, SampleRequest, TrainRequest
from engine.context import JobContext
from engine.hashing import file_sha256
from engine.models.common.modelfile import sidecar_path
from engine.models.gan.files import load_gan, save_gan
from engine.models.gan.net import Discriminator, GanConfig, Generator, generate
from engine.models.gan.training import GAN_PRESETS, GanTrainer, GanTrainSettings
from engine.quality.meters import DIGITS_METER, digit_classifier, load_meter
from engine.resources import BUNDLED_MODELS_DIR
from engine.train.datasets import open_dataset
from tests.tiny_models import rewrite_config

MLP = GanConfig(image_size=8, channels=1, z_dim=4, width=16, arch="mlp")
DCGAN = GanConfig(image_size=32, channels=3, z_dim=8, width=8, arch="dcgan")
BUNDLED_PATH = BUNDLED_MODELS_DIR / "gan-digits.safetensors"
DIGITS = ModelRef(Family.GAN, "gan-digits")


def tiny_pair(config: GanConfig = MLP, seed: int = 0) -> tuple[Generator, Discriminator]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Generator(config).eval(), Discriminator(config).eval()


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.safetensors"
    save_gan(path, *tiny_pair(), MLP, {"seed": 0, "note": "test"})
    return path


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These networks are tiny: one thread is fastest, and on a busy machine two threads
    spin against each other (a hundred times slower). The caller's setting comes back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def new_runtime(tmp_path: Path):
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    return Runtime(device_preference="cpu", hashes=HashService(HashCache(tmp_path / "h.db")))


def sample_request(model: str = "gan-digits", seed: int = 0, count: int = 4) -> SampleRequest:
    return SampleRequest(model=ModelRef(Family.GAN, model), seed=seed, count=count)


def z_of_seed(z_dim: int, seed: int) -> torch.Tensor:
    """The documented per-seed latent: a standard normal 1 x z_dim from a seeded CPU generator."""
    return torch.randn((1, z_dim), generator=torch.Generator("cpu").manual_seed(seed))


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize(
    "config",
    [MLP, DCGAN, GanConfig(16, 1, 8, 8, "dcgan"), GanConfig(64, 3, 8, 4, "dcgan")],
    ids=["mlp-8", "dcgan-32", "dcgan-16", "dcgan-64"],
)
def test_generator_draws_the_configured_size_in_tanh_range_and_d_gives_one_logit(config):
    generator, discriminator = tiny_pair(config)
    generator.train()  # batch norm in training mode too: any batch size above one works
    z = torch.randn(3, config.z_dim) * 10  # far out, so tanh saturates somewhere
    images = generator(z)
    size = config.image_size
    assert images.shape == (3, config.channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    scores = discriminator(images)
    assert scores.shape == (3,) and torch.isfinite(scores).all()
    scores.sum().backward()
    assert all(p.grad is not None for p in generator.parameters())


def test_configs_refuse_impossible_shapes():
    with pytest.raises(ValueError, match="16, 32 or 64"):
        GanConfig.from_dict({**MLP.to_dict(), "arch": "dcgan"})  # a DCGAN cannot draw 8 px
    with pytest.raises(ValueError):
        GanConfig.from_dict({**MLP.to_dict(), "arch": "resnet"})
    with pytest.raises(ValueError):
        GanConfig.from_dict({**MLP.to_dict(), "z_dim": 0})
    assert GanConfig.from_dict(DCGAN.to_dict()) == DCGAN


def test_generate_maps_minus_one_to_black_and_one_to_white_in_grey_rgb():
    class Fixed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, z):  # one image: -1, 0, 0.5, 1 repeated
            values = torch.tensor([-1.0, 0.0, 0.5, 1.0]).repeat(16).view(1, 1, 8, 8)
            return values.expand(len(z), -1, -1, -1) + self.w

    rgb = generate(Fixed(), torch.zeros(2, 3))
    assert rgb.shape == (2, 8, 8, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, :4, 0].tolist() == [0, 128, 191, 255]  # round((v + 1) / 2 * 255)
    assert (rgb[..., 0] == rgb[..., 2]).all()


# ---------------------------------------------------------------- losses


def trainer(loss: str = "hinge", ema: float = 0.999, seed: int = 0, batch: int = 3) -> GanTrainer:
    settings = GanTrainSettings(batch_size=batch, loss=loss, ema=ema)
    return GanTrainer(MLP, open_dataset("digits", seed=seed), settings, 10, seed)


def test_hinge_discriminator_loss_against_hand_values():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-2.0, 0.0, 0.5])
    # mean(relu(1 - real)) = mean(0, 0.5, 2) ; mean(relu(1 + fake)) = mean(0, 1, 1.5)
    expected = (0 + 0.5 + 2) / 3 + (0 + 1 + 1.5) / 3
    assert trainer("hinge")._d_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def bce(logit: float, target: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def test_bce_discriminator_loss_smooths_only_the_real_target_to_0_9():
    real = torch.tensor([0.0, 2.0])
    fake = torch.tensor([-1.0, 0.0])
    expected = (bce(0.0, 0.9) + bce(2.0, 0.9)) / 2 + (bce(-1.0, 0.0) + bce(0.0, 0.0)) / 2
    t = trainer("bce")
    assert t._d_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    # The real half is least where sigmoid(logit) = 0.9 (logit = log 9): the target is 0.9 …
    logit = torch.tensor([math.log(9.0)], requires_grad=True)
    t._d_loss(logit, torch.tensor([-30.0])).backward()
    assert abs(logit.grad.item()) < 1e-6
    # … and the fake target stays 0 (one-sided): a sure "fake" costs nothing on that side.
    sure_fake = t._d_loss(torch.tensor([math.log(9.0)]), torch.tensor([-30.0])).item()
    assert sure_fake == pytest.approx(bce(math.log(9.0), 0.9), abs=1e-6)


def test_unknown_loss_is_bad_input():
    with pytest.raises(BadInput, match="hinge or bce"):
        trainer("wasserstein")


@pytest.mark.parametrize("loss", ["hinge", "bce"])
def test_a_step_feeds_real_and_fake_to_the_right_losses(loss, monkeypatch):
    """Scores fixed by hand: the step's reported losses equal the hand formulas."""
    t = trainer(loss)
    real_scores = [1.5, -0.5, 0.25]
    fake_scores = [-0.75, 0.5, 2.0]
    calls = []

    def scores(x: torch.Tensor) -> torch.Tensor:
        calls.append(x)
        chosen = real_scores if len(calls) == 1 else fake_scores  # real, fake (D), fake (G)
        return (x.flatten(1).sum(1) + anchor.sum()) * 0 + torch.tensor(chosen)

    monkeypatch.setattr(t.discriminator, "forward", scores)
    anchor = next(t.discriminator.parameters())  # keeps D's loss in the autograd graph
    losses = t.step()
    assert len(calls) == 3
    assert calls[0].min() >= -1 and calls[0].max() <= 1  # real images, moved to [-1, 1]
    assert torch.equal(calls[1], calls[2].detach())
    if loss == "hinge":
        d = np.mean([max(0, 1 - r) for r in real_scores]) + np.mean(
            [max(0, 1 + f) for f in fake_scores]
        )
        g = -np.mean(fake_scores)
    else:
        d = np.mean([bce(r, 0.9) for r in real_scores]) + np.mean(
            [bce(f, 0.0) for f in fake_scores]
        )
        g = np.mean([bce(f, 1.0) for f in fake_scores])  # non-saturating: fakes called real
    assert losses["d_loss"] == pytest.approx(d, rel=1e-5)
    assert losses["g_loss"] == pytest.approx(g, rel=1e-5)
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert losses["d_real"] == pytest.approx(np.mean([sigmoid(r) for r in real_scores]), rel=1e-5)
    assert losses["d_fake"] == pytest.approx(np.mean([sigmoid(f) for f in fake_scores]), rel=1e-5)


# ---------------------------------------------------------------- EMA and training


def test_ema_generator_moves_towards_the_trained_one_by_the_documented_factor():
    t = trainer(ema=0.9)
    before = {k: v.clone() for k, v in t.average.state_dict().items()}
    assert all(torch.equal(before[k], v) for k, v in t.generator.state_dict().items())
    t.step()
    trained = t.generator.state_dict()
    assert not all(torch.equal(before[k], trained[k]) for k in before)  # it did train
    for key, averaged in t.average.state_dict().items():
        expected = 0.9 * before[key] + 0.1 * trained[key]
        torch.testing.assert_close(averaged, expected, rtol=1e-5, atol=1e-7)


def test_ema_copies_the_batch_norm_statistics_of_a_dcgan():
    settings = GanTrainSettings(batch_size=4, ema=0.5)
    config = GanConfig(16, 3, 8, 8, "dcgan")
    t = GanTrainer(config, open_dataset("shapes", 16, seed=0), settings, 10, 0)
    t.step()
    for averaged, current in zip(t.average.buffers(), t.generator.buffers(), strict=True):
        assert torch.equal(averaged, current)
    assert len(t.samples()) == 16 and t.samples()[0].shape == (16, 16, 3)


def train_tiny(seed: int, steps: int = 5) -> dict[str, torch.Tensor]:
    t = trainer(seed=seed, batch=16)
    for _ in range(steps):
        losses = t.step()
    assert set(losses) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(list(losses.values())))
    return t.average.state_dict()


def test_training_is_reproducible_and_depends_on_the_seed():
    a, b, c = (train_tiny(seed) for seed in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_training_in_the_app_writes_a_gan_that_samples(tmp_path):
    out = tmp_path / "mine.safetensors"
    request = TrainRequest(
        family=Family.GAN,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=3, batch_size=8),
        output=str(out),
    )
    outcome = new_runtime(tmp_path).run(request, JobContext(1))
    assert isinstance(outcome, ModelOutcome) and outcome.step == 3
    _generator, config, meta = load_gan(out)
    assert config == GAN_PRESETS["digits"].config
    assert meta["steps"] == 3 and meta["train"]["batch_size"] == 8
    images = new_runtime(tmp_path).run(sample_request(str(out), 0, 2), JobContext(2)).images
    assert images[0].rgb.shape == (8, 8, 3)


# ---------------------------------------------------------------- files


def test_save_and_load_round_trip(tiny_file: Path):
    generator, discriminator = tiny_pair()
    loaded, config, meta = load_gan(tiny_file)
    assert config == MLP and meta == {"seed": 0, "note": "test"}
    assert not loaded.training
    expected, got = generator.state_dict(), loaded.state_dict()
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    with safe_open(str(tiny_file), framework="pt") as fh:
        stored = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    for key, value in discriminator.state_dict().items():
        assert torch.equal(stored[f"discriminator.{key}"], value)
    record = json.loads(sidecar_path(tiny_file).read_text())
    assert record["family"] == "gan" and record["config"] == MLP.to_dict()


def assert_bad_file(path: Path, *phrases: str) -> str:
    with pytest.raises(BadModelFile) as caught:
        load_gan(path)
    message = caught.value.message
    assert path.name in message
    for phrase in phrases:
        assert phrase in message
    assert message.rstrip().endswith(".")
    with pytest.raises(BadModelFile):
        new_runtime(path.parent).run(sample_request(str(path), 0, 1), JobContext(1))
    return message


def test_a_vae_file_is_refused_naming_both_families(tmp_path: Path):
    path = tmp_path / "vae.safetensors"
    path.write_bytes((BUNDLED_MODELS_DIR / "vae-digits.safetensors").read_bytes())
    assert_bad_file(path, "vae model", "not a GAN")


def test_truncated_file_says_what_to_do(tmp_path: Path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(BUNDLED_PATH.read_bytes()[:-1000])
    assert_bad_file(path, "damaged or incomplete", "python -m engine.train gan")


def test_config_that_disagrees_with_the_weights_is_a_bad_model_file(tiny_file, tmp_path):
    bigger = rewrite_config(tiny_file, tmp_path / "bigger.safetensors", image_size=16)
    assert_bad_file(bigger, "does not match", "train it again")
    wider = rewrite_config(tiny_file, tmp_path / "wider.safetensors", z_dim=5)
    assert_bad_file(wider, "does not match")
    impossible = rewrite_config(tiny_file, tmp_path / "odd.safetensors", arch="resnet")
    assert_bad_file(impossible, "incomplete or invalid")


def test_nan_weights_are_a_broken_model_not_a_black_image(tmp_path):
    generator, discriminator = tiny_pair()
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.fill_(float("nan"))
    path = tmp_path / "nan.safetensors"
    save_gan(path, generator, discriminator, MLP, {})
    with pytest.raises(BadModelFile, match="no picture"):
        new_runtime(tmp_path).run(sample_request(str(path), 0, 1), JobContext(1))


# ---------------------------------------------------------------- bundled weights and sampling


def test_bundled_gan_draws_recognisable_digits_of_every_class():
    generator, config, meta = load_gan(BUNDLED_PATH)
    assert config == GAN_PRESETS["digits"].config and meta["preset"] == "digits"
    assert BUNDLED_PATH.stat().st_size < 5 * 1024 * 1024
    z = torch.cat([z_of_seed(config.z_dim, seed) for seed in range(64)])
    pixels = torch.from_numpy(generate(generator, z)[..., 0]).float()[:, None] / 255
    meter = load_meter(DIGITS_METER, digit_classifier())
    with torch.no_grad():
        confidence, digit = (meter.net(pixels) / meter.temperature).softmax(1).max(1)
    sure = confidence >= 0.9
    assert sure.float().mean() >= 0.6
    assert len(set(digit[sure].tolist())) >= 8


@pytest.mark.reproducibility
def test_runner_gives_one_image_per_seed_with_its_recipe(tmp_path):
    count = 21  # more than one chunk of samples
    results = new_runtime(tmp_path).run(sample_request(seed=5, count=count), JobContext(1)).images
    assert [(r.index, r.seed) for r in results] == [(i, 5 + i) for i in range(count)]
    assert all(r.rgb.shape == (8, 8, 3) and r.rgb.dtype == np.uint8 for r in results)
    info = results[0].info
    assert (info["model"], info["family"]) == ("gan-digits", "gan")
    assert info["model_sha256"] == file_sha256(BUNDLED_PATH)
    assert all(r.info == info for r in results)
    generator = load_gan(BUNDLED_PATH)[0]
    for r in results:  # each sample is G(z) of its own seed's z
        np.testing.assert_array_equal(r.rgb, generate(generator, z_of_seed(32, r.seed))[0])


@pytest.mark.reproducibility
def test_samples_reproduce_from_their_recipe(tmp_path):
    batch = new_runtime(tmp_path).run(sample_request(seed=100, count=4), JobContext(1)).images
    again = new_runtime(tmp_path).run(sample_request(seed=100, count=4), JobContext(2)).images
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(batch, again, strict=True))
    for i, image in enumerate(batch):
        alone = new_runtime(tmp_path).run(sample_request(seed=100 + i, count=1), JobContext(3))
        np.testing.assert_array_equal(alone.images[0].rgb, image.rgb)
    assert not np.array_equal(batch[0].rgb, batch[1].rgb)


@pytest.mark.reproducibility
def test_decoding_the_latent_of_seed_s_gives_the_sample_of_seed_s(tmp_path):
    runtime = new_runtime(tmp_path)
    sampled = runtime.run(sample_request(seed=42, count=1), JobContext(1)).images[0].rgb
    z = tuple(float(v) for v in z_of_seed(32, 42)[0])
    other = tuple(float(v) for v in z_of_seed(32, 43)[0])
    alone = runtime.run(DecodeRequest(model=DIGITS, latents=Latents((z,))), JobContext(2))
    np.testing.assert_array_equal(alone.frames[0], sampled)  # one latent, one image: exact
    request = DecodeRequest(model=DIGITS, latents=Latents((z, other, z)))
    outcome = runtime.run(request, JobContext(3))
    assert isinstance(outcome, FramesOutcome) and len(outcome.frames) == 3
    np.testing.assert_array_equal(outcome.frames[0], sampled)  # bitwise in a batch too
    np.testing.assert_array_equal(outcome.frames[0], outcome.frames[2])
    assert np.abs(outcome.frames[1].astype(int) - sampled.astype(int)).max() > 16


def test_a_latent_of_the_wrong_length_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="32 values, not 3"):
        new_runtime(tmp_path).run(
            DecodeRequest(model=DIGITS, latents=Latents(((0.0, 0.0, 0.0),))), JobContext(1)
        )
