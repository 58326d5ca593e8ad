"""The RealNVP family against independent oracles: the inverse recovers the input, the
log-determinants are those of autograd's Jacobians, the density integrates to one on a
grid, training lowers the likelihood's cost, and the sentences bad input gets."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from engine.api.errors import BadInput, BadModelFile
from engine.api.kinds import Family
from engine.api.requests import InterpolateRequest, SampleRequest
from engine.context import JobContext
from engine.models.realnvp.couplings import ChannelCoupling, CheckerboardCoupling, squeeze
from engine.models.realnvp.files import load_realnvp, save_realnvp
from engine.models.realnvp.flow import RealNvp, decode, encode, log_density
from engine.models.realnvp.pixels import RealnvpConfig, to_logit
from engine.models.realnvp.runners import held_out_bits
from engine.models.realnvp.spec import FlowSampleOptions
from engine.models.realnvp.training import RealnvpTrainer, RealnvpTrainSettings
from engine.train.datasets import ArrayData, DataInfo
from tests.tiny_models import DIGITS_META, tiny_model

REALNVP = Family("realnvp")
BUNDLED = Path(__file__).resolve().parent.parent / "resources" / "models"


@pytest.fixture(autouse=True)
def one_thread():
    """These convolutions are tiny: on a busy machine a second thread only waits for the
    first (twenty times slower, measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_flow(config: RealnvpConfig, seed: int = 0, scale: float = 0.1) -> RealNvp:
    """A flow in float64 whose every weight is random (a fresh one is the identity).
    Weights much larger than 0.1 stack ten couplings' exponentials into codes of 10⁷."""
    g = torch.Generator().manual_seed(seed)
    flow = RealNvp(config).double()
    with torch.no_grad():
        for parameter in flow.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=g, dtype=torch.float64) * scale)
    return flow


def random_images(n: int, config: RealnvpConfig, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (n, config.channels, config.image_size, config.image_size)
    return torch.rand(shape, generator=g, dtype=torch.float64)


def log_abs_det(f, x: torch.Tensor) -> float:
    """log |det J| of f at one input x, J from autograd (f flattens what it returns)."""
    matrix = jacobian(lambda v: f(v.view_as(x)).reshape(-1), x.reshape(-1))
    return torch.linalg.slogdet(matrix)[1].item()


# ---------------------------------------------------------------- the bijection


@pytest.mark.parametrize(
    "config",
    [RealnvpConfig(8, 1, 17, 1, 8, 1), RealnvpConfig(8, 3, 256, 2, 6, 1)],
    ids=["one-scale-grey", "two-scale-colour"],
)
def test_decode_inverts_encode_and_encode_inverts_decode(config):
    flow = random_flow(config)
    x = random_images(5, config)
    z = encode(flow, x)
    assert z.shape == (5, config.dims)
    assert (decode(flow, z) - x).abs().max() < 1e-5
    z = torch.randn(5, config.dims, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert (encode(flow, decode(flow, z)) - z).abs().max() < 1e-5


def test_squeeze_moves_each_two_by_two_patch_into_four_channels():
    x = torch.arange(2 * 4 * 4).view(1, 2, 4, 4)
    squeezed = squeeze(x)
    for c, i, j in itertools.product(range(2), range(2), range(2)):
        patch = x[0, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].reshape(-1)
        assert squeezed[0, 4 * c : 4 * c + 4, i, j].tolist() == patch.tolist()


def test_the_whole_flows_log_determinant_is_autograds_including_the_logit():
    config = RealnvpConfig(4, 1, 17, 1, 4, 1)
    flow = random_flow(config, seed=3, scale=0.3)
    for x in random_images(3, config, seed=4):
        x = x.unsqueeze(0)
        y, logit_det = to_logit(x, config.alpha)
        z, flow_det = flow(y)
        whole = log_abs_det(lambda v: flow(to_logit(v, config.alpha)[0])[0], x)
        assert (flow_det + logit_det).item() == pytest.approx(whole, abs=1e-8)
        assert flow_det.item() == pytest.approx(log_abs_det(lambda v: flow(v)[0], y), abs=1e-8)


@pytest.mark.parametrize("parity", [0, 1])
@pytest.mark.parametrize("kind", [CheckerboardCoupling, ChannelCoupling])
def test_each_couplings_log_determinant_is_autograds(kind, parity):
    g = torch.Generator().manual_seed(5 + parity)
    layer = kind(4, 6, 1, parity).double()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=g, dtype=torch.float64) * 0.4)
    x = torch.randn(1, 4, 3, 3, generator=g, dtype=torch.float64)
    y, log_det = layer(x)
    assert log_det.item() == pytest.approx(log_abs_det(lambda v: layer(v)[0], x), abs=1e-8)
    assert log_det.abs().item() > 0.1  # a layer that moved nothing would pass trivially
    assert (layer.inverse(y) - x).abs().max() < 1e-10


def test_the_density_integrates_to_one_over_its_support():
    """A 2 x 2 grey flow (4 values, four checkerboard couplings and the logit): the
    midpoint rule on a 24⁴ grid. The logit's inverse reaches a little past [0, 1]:
    x = (sigmoid(y) − α) / (1 − 2α) spans (−α / (1 − 2α), (1 − α) / (1 − 2α))."""
    config = RealnvpConfig(2, 1, 17, 0, 4, 0)
    flow = random_flow(config, seed=6, scale=0.2)
    a = config.alpha
    low, high = -a / (1 - 2 * a), (1 - a) / (1 - 2 * a)
    n = 24
    centres = low + (high - low) * (torch.arange(n, dtype=torch.float64) + 0.5) / n
    grid = torch.cartesian_prod(*[centres] * 4).view(-1, 1, 2, 2)
    with torch.no_grad():
        density = torch.cat([log_density(flow, chunk).exp() for chunk in grid.split(50_000)])
    assert density.std() / density.mean() > 0.5  # far from uniform
    assert (density.mean() * (high - low) ** 4).item() == pytest.approx(1.0, abs=0.01)


# ---------------------------------------------------------------- sampling and codes


def test_temperature_zero_draws_the_same_image_for_every_seed(cpu_runtime, tmp_path):
    model = tiny_model(REALNVP, tmp_path)
    options = FlowSampleOptions(temperature=0.0)
    request = SampleRequest(model=model, seed=0, count=5, save=False, options=options)
    images = [image.rgb for image in cpu_runtime.run(request, JobContext(1)).images]
    assert all(np.array_equal(images[0], image) for image in images)
    # ... the image of the code 0, the prior's mode
    loaded = load_realnvp(Path(model.id))
    assert np.array_equal(images[0], loaded.decode(torch.zeros(1, 64))[0])
    warm = SampleRequest(model=model, seed=0, count=2, save=False)
    a, b = (image.rgb for image in cpu_runtime.run(warm, JobContext(1)).images)
    assert not np.array_equal(a, b)


def test_a_real_images_code_decodes_to_it_and_a_walk_joins_two_real_images(cpu_runtime, tmp_path):
    from engine.quality.score import held_out_images

    model = tiny_model(REALNVP, tmp_path)
    loaded = load_realnvp(Path(model.id))
    images = held_out_images("digits")[:2]
    codes = loaded.encode(images)
    want = (images * 16).round().numpy()
    assert np.array_equal((loaded.pixels(codes) * 16).round().numpy(), want)
    request = InterpolateRequest(
        model=model,
        frames=5,
        save=False,
        from_latent=tuple(codes[0].tolist()),
        to_latent=tuple(codes[1].tolist()),
    )
    frames = cpu_runtime.run(request, JobContext(1)).images
    for frame, image in ((frames[0], want[0]), (frames[-1], want[1])):
        assert np.array_equal(np.round(frame.rgb[..., 0] / 255 * 16), image[0])


def test_a_walk_between_two_image_files_starts_and_ends_at_those_pictures(cpu_runtime, tmp_path):
    """The ends are the files' own pixels (on the model's 17 levels), read back by
    Pillow; a GAN, which has no encoder, refuses image ends with a sentence."""
    from PIL import Image

    from engine.api.parts import ImageRef, ModelRef

    model = tiny_model(REALNVP, tmp_path)
    rng = np.random.default_rng(4)
    files = []
    for name in ("a.png", "b.png"):
        levels = rng.integers(0, 17, (8, 8))
        path = tmp_path / name
        Image.fromarray((levels * 255 / 16).round().astype(np.uint8)).save(path)
        files.append((path, levels))
    request = InterpolateRequest(
        model=model,
        frames=4,
        save=False,
        from_image=ImageRef(str(files[0][0]), ""),
        to_image=ImageRef(str(files[1][0]), ""),
    )
    assert " · a.png → b.png · 4 frames" in request.describe()
    frames = cpu_runtime.run(request, JobContext(1)).images
    for frame, (_path, levels) in ((frames[0], files[0]), (frames[-1], files[1])):
        assert np.array_equal(np.round(frame.rgb[..., 0] / 255 * 16), levels)
    assert not np.array_equal(frames[1].rgb, frames[0].rgb)
    digest = hashlib.sha256(files[0][0].read_bytes()).hexdigest()
    assert frames[0].info["from_image"] == {"path": str(files[0][0]), "sha256": digest}
    gan = InterpolateRequest(
        model=ModelRef(Family("gan"), "gan-digits"), from_image=ImageRef(str(files[0][0]), "")
    )
    with pytest.raises(BadInput, match="A GAN has no encoder"):
        gan.check()


# ---------------------------------------------------------------- training


def digit_data(count: int = 256) -> ArrayData:
    from engine.quality.score import held_out_images

    images = held_out_images("digits")[:count].numpy()
    info = DataInfo("folder", 1, 8, 0, (), "test", count)
    return ArrayData(images, None, info, seed=0)


def test_training_lowers_the_bits_per_dimension():
    config = RealnvpConfig(8, 1, 17, 1, 8, 0)
    trainer = RealnvpTrainer(config, digit_data(), RealnvpTrainSettings(1, 8, 0, 64, 3e-3), 0)
    losses = [trainer.step()["bits_per_dim"] for _ in range(40)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    assert len(trainer.samples()) == 16


# ---------------------------------------------------------------- bad input


def test_a_temperature_out_of_range_is_refused_with_a_sentence(tmp_path):
    for t in (-0.5, 2.5, math.nan, math.inf):
        with pytest.raises(BadInput, match="choose a number from 0 to 2"):
            FlowSampleOptions(temperature=t).check(1)
    model = tiny_model(REALNVP, tmp_path)
    request = SampleRequest(model=model, count=1, options=FlowSampleOptions(temperature=9.0))
    with pytest.raises(BadInput, match="temperature scales its random code"):
        request.validate()
    assert FlowSampleOptions(temperature=0.7).words() == ("temperature 0.7",)


def test_a_damaged_or_mismatched_file_is_bad_model_file(tmp_path):
    source = Path(tiny_model(REALNVP, tmp_path).id)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(BadModelFile):
        load_realnvp(cut)
    wide = RealnvpConfig(8, 1, 17, 1, 6, 0)  # the settings say 6 feature maps ...
    save_realnvp(tmp_path / "wide.safetensors", RealNvp(RealnvpConfig(8, 1, 17, 1, 4, 0)), wide, {})
    with pytest.raises(BadModelFile, match="does not hold the flow its settings describe"):
        load_realnvp(tmp_path / "wide.safetensors")
    broken = RealNvp(wide)
    with torch.no_grad():
        next(broken.parameters())[0] = math.nan
    save_realnvp(tmp_path / "nan.safetensors", broken, wide, DIGITS_META)
    with pytest.raises(BadModelFile, match="not numbers"):
        load_realnvp(tmp_path / "nan.safetensors")


def test_settings_no_flow_can_have_are_refused_with_a_sentence():
    with pytest.raises(BadInput, match="must divide by 4"):
        RealnvpConfig(6, 1, 17, 2).check()
    with pytest.raises(BadInput, match="not numbers"):
        images = np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32)
        images[3, 0, 1, 1] = np.nan
        data = ArrayData(images, None, DataInfo("folder", 1, 8, 0, (), "t", 20), seed=0)
        RealnvpTrainer(RealnvpConfig(8, 1, 256, 1, 4, 0), data, RealnvpTrainSettings(), 0)


def test_a_code_too_far_out_is_refused_with_a_sentence(tmp_path):
    loaded = load_realnvp(Path(tiny_model(REALNVP, tmp_path).id))
    with pytest.raises(BadInput, match="values that are not numbers"):
        loaded.pixels(torch.full((1, 64), math.nan))


# ---------------------------------------------------------------- the bundle


@pytest.mark.parametrize("name", ["realnvp-digits", "realnvp-shapes"])
def test_the_bundled_flow_beats_a_uniform_guess_and_its_figure_is_kept(name):
    from engine.quality.score import held_out_images

    loaded = load_realnvp((BUNDLED / name).with_suffix(".safetensors"))
    bits = held_out_bits(loaded, held_out_images(loaded.meta["dataset"]))
    # A uniform density over L levels costs log2(L) bits a value.
    assert bits < math.log2(loaded.config.levels)
    kept = json.loads((BUNDLED / name).with_suffix(".quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim"] == pytest.approx(bits, rel=1e-6)


def test_the_bundled_digits_flow_beats_the_mixture_on_the_same_scale():
    kept = json.loads((BUNDLED / "realnvp-digits.quality.json").read_text())["values"]
    gmm = json.loads((BUNDLED / "gmm-digits.quality.json").read_text())["values"]
    assert kept["held_out_bits_per_dim"] < gmm["held_out_bits_per_dim"]
