"""Adversarial super-resolution (lite-x4-gan): the critic and losses against closed forms
and properties, a few training steps on a tiny Compact, and the bundled file itself judged
on a held-out photo with Y-PSNR and a Laplacian computed here with numpy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter, laplace

from engine.models.upscale.adversarial import (
    PatchDiscriminator,
    RandomFeatureLoss,
    grid_loss,
    high_pass,
    high_pass_loss,
    relativistic_losses,
)
from engine.models.upscale.gan_training import (
    GanSrPreset,
    adversarial_step,
    make_parts,
    save_gan_upscaler,
)
from engine.resources import BUNDLED_MODELS_DIR
from tests.upscalers import compact_net, photo_like

spandrel = pytest.importorskip("spandrel")


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255  # a copy: writable


# ---------------------------------------------------------------- the critic and its loss


def test_the_critic_scores_patches_and_every_weight_gets_a_gradient():
    torch.manual_seed(0)
    critic = PatchDiscriminator(channels=4, depth=3)
    images = torch.rand(2, 3, 32, 32, requires_grad=True)
    logits = critic(images)
    assert logits.shape == (2, 1, 4, 4)  # three stride-2 levels: 32 / 8
    logits.square().mean().backward()
    for name, p in critic.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    assert images.grad.abs().sum() > 0  # and the generator, upstream, gets one too


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def test_relativistic_losses_are_esrgans_closed_form():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(1, 1, (4, 1, 3, 3)), rng.normal(-1, 1, (4, 1, 3, 3))
    critic, generator = relativistic_losses(torch.from_numpy(real), torch.from_numpy(fake))
    real_vs_fake, fake_vs_real = real - fake.mean(), fake - real.mean()
    # -log sigmoid(x) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x)
    want_critic = (softplus(-real_vs_fake).mean() + softplus(fake_vs_real).mean()) / 2
    want_generator = (softplus(real_vs_fake).mean() + softplus(-fake_vs_real).mean()) / 2
    assert critic.item() == pytest.approx(want_critic, rel=1e-9)
    assert generator.item() == pytest.approx(want_generator, rel=1e-9)
    # The generator's loss is the critic's with the two sides swapped.
    swapped, _ = relativistic_losses(torch.from_numpy(fake), torch.from_numpy(real))
    assert swapped.item() == pytest.approx(want_generator, rel=1e-9)


# ---------------------------------------------------------------- the losses without weights


def blurred(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(gaussian_filter(rgb.astype(float), (sigma, sigma, 0)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_perceptual_loss_is_zero_for_the_same_image_and_grows_with_blur(seed):
    loss = RandomFeatureLoss(seed=seed)
    photo = photo_like(48, 48, seed=seed)
    truth = as_tensor(photo)
    assert loss(truth, truth).item() == 0.0
    values = [loss(as_tensor(blurred(photo, s)), truth).item() for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values
    assert values[0] > 0


def test_the_perceptual_network_is_fixed_by_its_seed_and_never_trained():
    a, b = RandomFeatureLoss(seed=5), RandomFeatureLoss(seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a.buffers(), b.buffers(), strict=True))
    assert not list(a.parameters())  # buffers: no optimiser can move them
    assert not torch.equal(a.weight0, RandomFeatureLoss(seed=6).weight0)


def test_the_high_pass_band_is_scipys_laplacian_with_edges_replicated():
    photo = photo_like(20, 16, seed=4).astype(np.float64) / 255
    got = high_pass(torch.from_numpy(photo).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    want = np.stack([laplace(photo[..., c], mode="nearest") for c in range(3)], axis=2)
    np.testing.assert_allclose(got, want, atol=1e-12)
    truth = as_tensor(photo_like(32, 32))
    assert high_pass_loss(truth, truth).item() == 0.0
    soft = [high_pass_loss(as_tensor(blurred(photo_like(32, 32), s)), truth) for s in (0.5, 2)]
    assert soft[0] < soft[1]


def test_the_grid_loss_sees_a_pattern_of_the_scales_period_and_nothing_else():
    rng = np.random.default_rng(3)
    target = torch.from_numpy(rng.random((2, 3, 64, 64)))
    pattern = rng.normal(0, 0.05, (3, 4, 4))
    pattern -= pattern.mean(axis=(1, 2), keepdims=True)  # a grid, no overall shift
    tiled = torch.from_numpy(np.tile(pattern, (1, 16, 16)))
    assert grid_loss(target, target, 4).item() == 0.0
    # An overall shift is not a grid.
    assert grid_loss(target + 0.1, target, 4).item() == pytest.approx(0.0, abs=1e-12)
    # The grid itself: its mean absolute value, whatever the image under it.
    got = grid_loss(target + tiled, target, 4).item()
    assert got == pytest.approx(np.abs(pattern).mean(), rel=1e-9)


# ---------------------------------------------------------------- training steps


def test_a_few_adversarial_steps_move_both_networks_and_stay_finite():
    torch.manual_seed(0)
    generator = compact_net(scale=2, num_feat=8, num_conv=2).train()
    preset = GanSrPreset(scale=2, critic_channels=4, batch_size=2, generator_lr=1e-3)
    parts = make_parts(generator, preset)
    before_g = [p.detach().clone() for p in generator.parameters()]
    before_c = [p.detach().clone() for p in parts.critic.parameters()]
    high = as_tensor(photo_like(32, 32)).repeat(2, 1, 1, 1)
    low = torch.nn.functional.avg_pool2d(high, 2)
    for step in range(3):
        values = adversarial_step(parts, low, high, train_generator=step > 0)
        assert all(np.isfinite(v) for v in values.values()), values
    assert set(values) == {"critic", "pixel", "perceptual", "high_pass", "adversarial", "grid"}
    for before, net in ((before_g, generator), (before_c, parts.critic)):
        assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert all(p.requires_grad for p in parts.critic.parameters())  # given back after
    with torch.no_grad():
        assert torch.isfinite(generator(low)).all()


def test_a_warming_up_step_leaves_the_generator_alone():
    generator = compact_net(scale=2, num_feat=8, num_conv=2).train()
    parts = make_parts(generator, GanSrPreset(scale=2, critic_channels=4))
    before = [p.detach().clone() for p in generator.parameters()]
    high = as_tensor(photo_like(16, 16))
    adversarial_step(parts, torch.nn.functional.avg_pool2d(high, 2), high, train_generator=False)
    assert all(torch.equal(a, b) for a, b in zip(before, generator.parameters(), strict=True))


def test_the_written_file_is_a_plain_compact_that_spandrel_loads(tmp_path):
    net = compact_net(scale=4, num_feat=8, num_conv=2)
    out = save_gan_upscaler(net, GanSrPreset(), tmp_path / "x.safetensors", steps=3, seconds=1)
    descriptor = spandrel.ModelLoader("cpu").load_from_file(str(out))
    assert descriptor.architecture.name == "RealESRGAN Compact" and descriptor.scale == 4
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["family"] == "upscale" and record["config"]["adversarial"] is True
    assert record["meta"]["started_from"] == "lite-x4" and record["meta"]["steps"] == 3


def test_gan_is_refused_for_a_factor_other_than_four():
    from engine.reproduce import main

    with pytest.raises(SystemExit, match="--scale 4"):
        main(["sr", "--scale", "2", "--gan"])


# ---------------------------------------------------------------- the bundled file


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, R, G, B in [0, 255]."""
    return rgb.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255 + 16


def y_psnr(result: np.ndarray, truth: np.ndarray, border: int = 4) -> float:
    a, b = (luma(x)[border:-border, border:-border] for x in (result, truth))
    return 10 * np.log10(255.0**2 / np.mean((a - b) ** 2))


def laplacian_energy(rgb: np.ndarray, border: int = 4) -> float:
    """The 4-neighbour Laplacian of Y, written out by hand, inside the border."""
    y = luma(rgb)
    band = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4 * y[1:-1, 1:-1]
    band = band[border - 1 : -(border - 1), border - 1 : -(border - 1)]
    return float(np.mean(band**2))


@pytest.fixture(scope="module")
def held_out_crop():
    """A textured 192 px crop of scikit-learn's china (never used in training) and its
    Pillow-bicubic ×4 reduction, as the benchmark makes its inputs."""
    from sklearn.datasets import load_sample_image

    truth = np.ascontiguousarray(load_sample_image("china.jpg")[200:392, 240:432])
    low = np.asarray(Image.fromarray(truth).resize((48, 48), Image.Resampling.BICUBIC))
    return low, truth


def upscale_with(name: str, low: np.ndarray) -> np.ndarray:
    descriptor = spandrel.ModelLoader("cpu").load_from_file(
        str(BUNDLED_MODELS_DIR / f"{name}.safetensors")
    )
    with torch.inference_mode():
        out = descriptor.eval()(as_tensor(low))
    return (out[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def test_lite_x4_gan_is_sharper_than_lite_x4_and_loses_little_psnr(held_out_crop):
    low, truth = held_out_crop
    plain, sharp = upscale_with("lite-x4", low), upscale_with("lite-x4-gan", low)
    assert y_psnr(sharp, truth) >= y_psnr(plain, truth) - 1.5
    assert laplacian_energy(sharp) > laplacian_energy(plain)
    assert laplacian_energy(sharp) < 2 * laplacian_energy(truth)  # detail, not noise


def test_lite_x4_gan_draws_no_four_pixel_grid(held_out_crop):
    """What it adds to bicubic has no preferred phase within the 4 x 4 blocks (a fixed
    grid would be the pixel shuffle fooling the critic, not detail)."""
    low, truth = held_out_crop
    bicubic = np.asarray(Image.fromarray(low).resize((192, 192), Image.Resampling.BICUBIC))
    added = luma(upscale_with("lite-x4-gan", low)) - luma(bicubic.astype(np.float64))
    phases = added.reshape(48, 4, 48, 4).mean(axis=(0, 2))
    assert np.abs(phases - phases.mean()).max() < 1.0  # under a grey level of Y


def test_lite_x4_gan_is_listed_beside_lite_x4_with_what_it_is_for():
    from engine.api.catalogue import upscaler_models

    entries = {e.ref.id: e for e in upscaler_models([])}
    ids = list(entries)
    assert ids.index("lite-x4-gan") == ids.index("lite-x4") + 1
    assert "adversarial" in entries["lite-x4-gan"].about
    assert entries["lite-x4-gan"].bundled and "×4" in entries["lite-x4-gan"].title


def test_the_upscale_picker_offers_lite_x4_gan_after_lite_x4_with_its_line(window):
    from PySide6.QtCore import Qt

    window.set_mode(3)  # Upscale
    box = window.upscale_panel.model_box
    ids = [box.itemData(i).id for i in range(box.count())]
    index = ids.index("lite-x4-gan")
    assert ids[index - 1] == "lite-x4"
    tip = box.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[0] == "sharper textures (adversarial), slightly lower PSNR"
    assert tip.splitlines()[1].endswith("lite-x4-gan.safetensors")
