"""The Latent Lab's hands-on tools in the engine: slider axes (VAE by KL, GAN by GANSpace)
and what they move, codes kept from the sliders, latent arithmetic, VAE reconstruction,
and the DDPM's forward process with its noise schedule.

Oracles: the models' own networks called directly, the shapes renderer (a decoder whose
factors are known), the cosine schedule's published formula, and the forward process's
closed form."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.api.catalogue import model_path
from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.outcomes import LatentAxis
from engine.api.parts import ImageRef, Latents, ModelRef
from engine.api.requests import (
    ArithmeticRequest,
    DecodeRequest,
    DescribeModelRequest,
    ForwardNoiseRequest,
    LatentAxesRequest,
    ReconstructRequest,
    SampleRequest,
    SeedLatentRequest,
    request_from_dict,
    request_to_dict,
)
from engine.api.sample_options import LatentSampleOptions
from engine.context import JobContext
from engine.data.shapes import Factors, render
from engine.models.common import latent_axes
from engine.models.gan.files import load_gan
from engine.models.gan.net import sample_z
from engine.models.vae.files import load_vae
from engine.train.datasets import open_dataset

VAE_SHAPES = ModelRef(Family.VAE, "vae-shapes")
GAN_SHAPES = ModelRef(Family.GAN, "gan-shapes")
DDPM_SHAPES = ModelRef(Family.DDPM, "ddpm-shapes")


def _run(runtime, request, job=1):
    return runtime.run(request, JobContext(job))


# ---------------------------------------------------------------- codes kept from sliders


@pytest.mark.reproducibility
@pytest.mark.parametrize("model", ["vae-digits", "gan-digits", "vae-shapes", "gan-shapes"])
def test_a_seeds_code_drawn_again_is_the_seeds_sample(cpu_runtime, model):
    ref = ModelRef(Family(model.split("-")[0]), model)
    code = _run(cpu_runtime, SeedLatentRequest(model=ref, seed=31)).vectors[0]
    kept = SampleRequest(
        model=ref, seed=31, count=1, options=LatentSampleOptions(latent=code), save=False
    )
    drawn = _run(cpu_runtime, kept, 2).images[0].rgb
    sample = _run(cpu_runtime, SampleRequest(model=ref, seed=31, count=1, save=False), 3)
    assert np.array_equal(drawn, sample.images[0].rgb)
    # The slider's frame of that code is the kept image: what was seen is what is kept.
    frame = _run(cpu_runtime, DecodeRequest(model=ref, latents=Latents((code,))), 4).frames[0]
    assert np.array_equal(frame, drawn)


def test_a_kept_code_survives_its_recipe_exactly():
    code = tuple(float(v) for v in torch.randn(64, generator=torch.Generator().manual_seed(3)))
    request = SampleRequest(
        model=GAN_SHAPES, seed=9, count=1, options=LatentSampleOptions(latent=code)
    )
    again = request_from_dict(request_to_dict(request))
    assert again == request and again.latent == code  # every float to the last bit


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"count": 2}, "count must be 1"),
        ({"model": DDPM_SHAPES}, "VAE or GAN sample options"),
        ({"options": LatentSampleOptions(latent=(float("nan"),) * 64)}, "finite"),
    ],
)
def test_bad_kept_codes_are_refused_with_a_sentence(fields, words):
    kept = LatentSampleOptions(latent=(0.0,) * 64)
    request = SampleRequest(**{"model": GAN_SHAPES, "count": 1, "options": kept, **fields})
    with pytest.raises(BadInput, match=words):
        request.validate()


# ---------------------------------------------------------------- slider axes


def test_vae_axes_follow_the_encoders_kl_over_the_data(cpu_runtime):
    outcome = _run(cpu_runtime, LatentAxesRequest(model=VAE_SHAPES))
    vae, config, _meta = load_vae(model_path(VAE_SHAPES))
    images, _kinds = open_dataset("shapes", 32, 0).batch(2000)
    with torch.no_grad():
        mu, logvar = vae.encode(images)
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)  # per dimension
    expected = torch.argsort(kl, descending=True).tolist()
    order = [axis.direction.index(1.0) for axis in outcome.axes]
    assert order == expected
    assert all(sum(axis.direction) == 1.0 for axis in outcome.axes)  # one dimension each
    assert "KL" in outcome.how and "shapes data set" in outcome.how
    # The most informative dimension changes the picture; the least barely does.
    first, last = outcome.axes[0], outcome.axes[-1]
    change = [_picture_change(vae, axis) for axis in (first, last)]
    assert change[0] > 3 * change[1]


@pytest.mark.parametrize("model", ["vae-digits", "vae-emoji"])
def test_every_bundled_vae_orders_its_axes_over_its_own_data(cpu_runtime, model):
    outcome = _run(cpu_runtime, LatentAxesRequest(model=ModelRef(Family.VAE, model)))
    assert f"the {model.split('-')[1]} data set" in outcome.how


def _picture_change(vae, axis: LatentAxis) -> float:
    direction = torch.tensor(axis.direction) * axis.spread * 2
    z = torch.zeros(1, len(axis.direction))
    with torch.no_grad():
        return float(
            (
                vae.decode_logits(z + direction).sigmoid()
                - vae.decode_logits(z - direction).sigmoid()
            )
            .abs()
            .mean()
        )


def test_gan_axes_are_ganspace_directions(cpu_runtime):
    outcome = _run(cpu_runtime, LatentAxesRequest(model=GAN_SHAPES))
    generator, config, _meta = load_gan(model_path(GAN_SHAPES))
    assert len(outcome.axes) == 16 and "GANSpace" in outcome.how
    directions = torch.tensor([axis.direction for axis in outcome.axes])
    assert torch.allclose(directions.norm(dim=1), torch.ones(16), atol=1e-5)
    shares = [float(axis.label.split("·")[1].split("%")[0]) for axis in outcome.axes]
    assert shares == sorted(shares, reverse=True)
    # PCA's property, checked on fresh samples: a step along the first direction moves
    # the first-layer features further than the same step along random directions.
    z = torch.randn(256, config.z_dim, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        base = generator.fc(z)
        along = (generator.fc(z + 2 * directions[0]) - base).norm(dim=1).mean()
        random_dirs = torch.randn(8, config.z_dim, generator=torch.Generator().manual_seed(12))
        random_dirs = random_dirs / random_dirs.norm(dim=1, keepdim=True)
        across = torch.stack(
            [(generator.fc(z + 2 * d) - base).norm(dim=1).mean() for d in random_dirs]
        )
    assert along > across.max()


@pytest.mark.reproducibility
def test_gan_axes_are_the_same_every_time_whatever_the_global_rng():
    """GANSpace's randomized PCA must not depend on the global RNG (it did: two
    computations could flip or mix components), nor move it for the caller."""
    weights = torch.randn(8, 64, generator=torch.Generator().manual_seed(3))

    def features(z: torch.Tensor) -> torch.Tensor:  # a nonlinear first layer, rank > 8
        return torch.tanh(z @ weights) * torch.arange(1, 65)

    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        before = torch.random.get_rng_state()
        runs.append(latent_axes.gan_axes(features, 8))
        assert torch.equal(torch.random.get_rng_state(), before)
    assert runs[0] == runs[1]


def test_the_shapes_factors_each_axis_moves_are_named():
    """A decoder built from the shapes renderer, where z0 is the x position and z1 the
    hue: the reader must name x for the first axis and hue for the second."""

    def decode(z: torch.Tensor) -> torch.Tensor:
        n = len(z)
        factors = Factors(
            kind=np.zeros(n, np.int64),
            x=np.clip(z[:, 0].numpy() * 0.25, -0.55, 0.55),
            y=np.zeros(n),
            scale=np.full(n, 0.55),
            rotation=np.zeros(n),
            hue=(z[:, 1].numpy() * 0.15) % 1.0,
        )
        return torch.from_numpy(render(factors).transpose(0, 3, 1, 2).copy())

    axes = [
        LatentAxis((1.0, 0.0, 0.0), 1.0, "z0"),
        LatentAxis((0.0, 1.0, 0.0), 1.0, "z1"),
        LatentAxis((0.0, 0.0, 1.0), 1.0, "z2"),
    ]
    base = torch.randn(64, 3, generator=torch.Generator().manual_seed(5))
    named = latent_axes.with_shape_factors(axes, base, decode)
    assert named[0].moves[0][0] == "x"
    assert named[1].moves[0][0] == "hue"
    assert named[2].moves == ()  # z2 moves nothing


def test_the_bundled_shapes_models_name_what_they_move(cpu_runtime):
    for ref in (VAE_SHAPES, GAN_SHAPES):
        axes = _run(cpu_runtime, LatentAxesRequest(model=ref)).axes
        named = {name for axis in axes[:8] for name, _effect in axis.moves}
        assert {"x", "y"} <= named, (ref.id, [a.moves for a in axes[:8]])


def test_axes_are_computed_once_per_model_file(tmp_path, monkeypatch):
    calls = []

    def compute():
        calls.append(1)
        from engine.api.outcomes import AxesOutcome

        return AxesOutcome((LatentAxis((1.0, 0.0), 0.5, "z0", (("x", 1.25),)),), "test")

    first = latent_axes.cached_axes(tmp_path, "abc", compute)
    again = latent_axes.cached_axes(tmp_path, "abc", compute)
    assert first == again and len(calls) == 1
    cached = next((tmp_path / "latent-axes").iterdir())
    cached.write_text("{not json")  # damaged: computed again, not trusted
    assert latent_axes.cached_axes(tmp_path, "abc", compute) == first and len(calls) == 2


# ---------------------------------------------------------------- arithmetic


def test_gan_arithmetic_is_a_minus_b_plus_c_on_z(cpu_runtime):
    outcome = _run(
        cpu_runtime, ArithmeticRequest(model=GAN_SHAPES, a=1, b=2, c=3, grid=False, save=False)
    )
    images = [image.rgb for image in outcome.images]
    for seed, image in zip((1, 2, 3), images, strict=False):
        sample = _run(
            cpu_runtime, SampleRequest(model=GAN_SHAPES, seed=seed, count=1, save=False), 2
        )
        assert np.array_equal(image, sample.images[0].rgb)
    generator, config, _meta = load_gan(model_path(GAN_SHAPES))
    z = sample_z(config.z_dim, 1) - sample_z(config.z_dim, 2) + sample_z(config.z_dim, 3)
    with torch.no_grad():
        expected = ((generator(z)[0] + 1) / 2 * 255).round().clamp(0, 255).byte().permute(1, 2, 0)
    assert np.abs(images[3].astype(int) - expected.numpy().astype(int)).max() <= 1
    assert [image.info["operand"] for image in outcome.images] == ["A", "B", "C", "A − B + C"]


def test_vae_arithmetic_works_on_the_encoders_means(cpu_runtime):
    outcome = _run(
        cpu_runtime, ArithmeticRequest(model=VAE_SHAPES, a=4, b=5, c=6, grid=False, save=False)
    )
    vae, _config, _meta = load_vae(model_path(VAE_SHAPES))
    samples = torch.from_numpy(np.stack([i.rgb for i in outcome.images[:3]])).permute(0, 3, 1, 2)
    with torch.no_grad():
        # The encoder reads the samples as decoded (floats): within a rounding of the
        # stored 8-bit pixels, so the result is compared with a small tolerance.
        mu, _ = vae.encode(samples.float() / 255)
        expected = vae.decode_logits((mu[0] - mu[1] + mu[2])[None]).sigmoid()[0]
    got = torch.from_numpy(outcome.images[3].rgb).permute(2, 0, 1).float() / 255
    assert (got - expected).abs().mean() < 0.02


def test_an_arithmetic_strip_keeps_its_operands_in_the_recipe(cpu_runtime, tmp_path):
    from engine.api.outcomes import Sheet
    from engine.finishing import compose_sheet

    outcome = _run(
        cpu_runtime, ArithmeticRequest(model=GAN_SHAPES, a=1, b=2, c=3, grid=False, save=False)
    )
    strip = compose_sheet(outcome.images, Sheet.EQUATION)
    assert strip.info["operands"] == ["A", "B", "C", "A − B + C"]
    assert strip.info["seeds"] == [1, 2, 3, None]
    assert strip.rgb.shape[1] > 4 * 32  # one row of four


# ---------------------------------------------------------------- reconstruction


def _png(path: Path, rgb: np.ndarray) -> ImageRef:
    Image.fromarray(rgb).save(path)
    return ImageRef(str(path), "")


def test_reconstruction_is_the_vae_encoding_and_decoding_the_image(cpu_runtime, tmp_path):
    images, _ = open_dataset("shapes", 32, 7).batch(1)
    rgb = (images[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    outcome = _run(
        cpu_runtime,
        ReconstructRequest(model=VAE_SHAPES, image=_png(tmp_path / "s.png", rgb), save=False),
    )
    strip, latent_map = outcome.images
    vae, _config, _meta = load_vae(model_path(VAE_SHAPES))
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        expected = vae.decode_logits(vae.encode(x)[0]).sigmoid()[0].permute(1, 2, 0) * 255
    gap = max(1, 32 // 32)
    assert np.array_equal(strip.rgb[:, :32], rgb)  # the input as the model took it
    shown = strip.rgb[:, 32 + gap : 64 + gap].astype(float)
    assert np.abs(shown - expected.numpy()).max() <= 1
    assert strip.info["note"] == "" and 0 < strip.info["mean_abs_error"] < 0.2
    assert latent_map.rgb.shape == (320, 320, 3)
    assert latent_map.rgb.reshape(-1, 3).std(0).sum() > 0  # points are drawn


def test_a_wrong_sized_grey_image_is_resized_with_a_note(cpu_runtime, tmp_path):
    grey = np.tile(np.linspace(0, 255, 100, dtype=np.uint8), (60, 1))
    path = tmp_path / "grey.png"
    Image.fromarray(grey, "L").save(path)
    outcome = _run(
        cpu_runtime, ReconstructRequest(model=VAE_SHAPES, image=ImageRef(str(path), ""), save=False)
    )
    note = outcome.images[0].info["note"]
    assert "resized from 100×60 to 32×32" in note and "grey" in note


def test_a_file_that_is_no_image_gets_a_sentence(cpu_runtime, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(BadInput, match="not an image"):
        _run(
            cpu_runtime,
            ReconstructRequest(model=VAE_SHAPES, image=ImageRef(str(path), ""), save=False),
        )
    with pytest.raises(BadInput, match="needs a VAE"):
        ReconstructRequest(model=GAN_SHAPES, image=ImageRef(str(path), "")).validate()


# ---------------------------------------------------------------- the forward process


def test_the_forward_process_is_its_closed_form(cpu_runtime):
    alpha_bar = _run(cpu_runtime, DescribeModelRequest(model=DDPM_SHAPES)).vectors[0]
    clean = _run(cpu_runtime, ForwardNoiseRequest(model=DDPM_SHAPES, t=0, image_index=3)).frames[0]
    expected_clean = open_dataset("shapes", 32, 0).batch(256)[0][3]
    assert (
        np.abs(clean.astype(int) - (expected_clean.permute(1, 2, 0).numpy() * 255).round()).max()
        <= 1
    )
    t = 400
    frame = _run(
        cpu_runtime, ForwardNoiseRequest(model=DDPM_SHAPES, t=t, image_index=3, noise_seed=8), 2
    )
    x0 = expected_clean * 2 - 1
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(8))
    ab = alpha_bar[t - 1]
    x_t = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    expected = ((x_t.clamp(-1, 1) + 1) / 2 * 255).round().permute(1, 2, 0).numpy()
    assert np.abs(frame.frames[0].astype(int) - expected).max() <= 1
    assert f"t = {t}" in frame.labels[0]


def test_the_schedule_is_the_published_cosine_schedule(cpu_runtime):
    """Nichol & Dhariwal (2021), eq. 17: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2),
    s = 0.008 (diffusers clips each β at 0.999, which only touches the last steps)."""
    alpha_bar = _run(cpu_runtime, DescribeModelRequest(model=DDPM_SHAPES)).vectors[0]
    big_t, s = len(alpha_bar), 0.008

    def f(t: float) -> float:
        return math.cos((t / big_t + s) / (1 + s) * math.pi / 2) ** 2

    for t in (1, 100, 500, 900):
        assert alpha_bar[t - 1] == pytest.approx(f(t) / f(0), rel=1e-4, abs=1e-6)
    assert all(a > b for a, b in zip(alpha_bar, alpha_bar[1:], strict=False))


def test_scrubbing_past_the_end_gets_a_sentence(cpu_runtime):
    with pytest.raises(BadInput, match="1000 steps"):
        _run(cpu_runtime, ForwardNoiseRequest(model=DDPM_SHAPES, t=1000 + 1))
    with pytest.raises(BadInput, match="needs a DDPM"):
        ForwardNoiseRequest(model=VAE_SHAPES, t=3).validate()


def test_an_edited_image_file_is_read_again_while_scrubbing(cpu_runtime, tmp_path):
    path = tmp_path / "x0.png"
    Image.new("RGB", (32, 32), (255, 0, 0)).save(path)
    ref = ImageRef(str(path), "")
    first = _run(cpu_runtime, ForwardNoiseRequest(model=DDPM_SHAPES, t=0, image=ref)).frames[0]
    Image.new("RGB", (32, 32), (0, 0, 255)).save(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    again = _run(cpu_runtime, ForwardNoiseRequest(model=DDPM_SHAPES, t=0, image=ref), 2).frames[0]
    assert tuple(first[0, 0]) == (255, 0, 0) and tuple(again[0, 0]) == (0, 0, 255)
