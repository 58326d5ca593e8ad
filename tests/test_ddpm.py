"""The DDPM family: the schedule, noising, DDIM and guidance against independent oracles
(files, the bundled digits model and the runner: test_ddpm_models)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from engine.api.errors import BadInput
from engine.api.kinds import Family
from engine.api.parts import ModelRef
from engine.api.requests import SampleRequest
from engine.api.sample_options import DiffusionSampleOptions
from engine.context import JobContext
from engine.models.ddpm.net import DdpmConfig, UNet
from engine.models.ddpm.sampling import _guided_noise, label_for, sample
from engine.models.ddpm.schedule import training_scheduler
from engine.models.ddpm.training import DDPM_PRESETS, DdpmTrainer, DdpmTrainSettings
from engine.resources import BUNDLED_MODELS_DIR
from engine.train.datasets import open_dataset

TINY = DdpmConfig(image_size=8, channels=1, widths=(8, 16), num_classes=10)
UNCONDITIONAL = DdpmConfig(image_size=8, channels=1, widths=(8, 16), num_classes=0)
BUNDLED_PATH = BUNDLED_MODELS_DIR / "ddpm-digits.safetensors"
T = 1000


def tiny_unet(config: DdpmConfig = TINY, seed: int = 0) -> UNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet(config).eval()
        # A fresh U-Net's last layer is small; scale it so that eps (and so every
        # sampler step) is far from trivial and differences would show.
        with torch.no_grad():
            unet.out[-1].weight.mul_(20)
        return unet


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


def sample_request(model: str = "ddpm-digits", **fields) -> SampleRequest:
    """`fields`: the request's, and its options' (steps, label, guidance, eta)."""
    sampler = {"steps": 10} | {k: fields.pop(k) for k in OPTIONS if k in fields}
    fields = {"seed": 0, "count": 2, **fields}
    options = DiffusionSampleOptions(**sampler)
    return SampleRequest(model=ModelRef(Family.DDPM, model), options=options, **fields)


OPTIONS = ("steps", "label", "guidance", "eta")


def run(tmp_path: Path, **fields) -> list:
    """A fresh runtime each time, so nothing is shared between the runs compared."""
    runtime = new_runtime(tmp_path)
    try:
        return list(runtime.run(sample_request(**fields), JobContext(1)).images)
    finally:
        runtime.close()


def seed_noise(seeds: list[int], shape=(1, 8, 8)) -> torch.Tensor:
    """The documented start: each sample's N(0, I) from its own seeded CPU generator."""
    return torch.stack(
        [torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds]
    )


# ---------------------------------------------------------------- the schedule, by formula


def cosine_alpha_bar(t: float) -> float:
    """Nichol & Dhariwal 2021, eq. 17 (s = 0.008), as a function of t / T."""
    return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2


def literal_betas(schedule: str) -> torch.Tensor:
    if schedule == "linear":  # Ho et al. 2020: 1e-4 to 0.02 over 1000 steps
        return torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    betas = [
        min(1 - cosine_alpha_bar((i + 1) / T) / cosine_alpha_bar(i / T), 0.999) for i in range(T)
    ]
    return torch.tensor(betas, dtype=torch.float64)


@pytest.mark.parametrize("schedule", ["squaredcos_cap_v2", "linear"])
def test_schedule_matches_the_literal_formula_and_a_plain_diffusers_scheduler(schedule):
    config = DdpmConfig(beta_schedule=schedule)
    ours = training_scheduler(config)
    betas = literal_betas(schedule)
    alpha_bar = torch.cumprod(1 - betas, 0)
    torch.testing.assert_close(ours.betas.double(), betas, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ours.alphas_cumprod.double(), alpha_bar, rtol=1e-4, atol=1e-6)
    plain = DDPMScheduler(num_train_timesteps=T, beta_schedule=schedule)
    assert torch.equal(ours.alphas_cumprod, plain.alphas_cumprod)
    assert ours.config.prediction_type == "epsilon"
    # The cosine schedule ends near pure noise; the linear one almost so.
    assert alpha_bar[-1] < 1e-4


def test_default_schedule_is_the_cosine_one_with_a_thousand_steps():
    assert (DdpmConfig().timesteps, DdpmConfig().beta_schedule) == (T, "squaredcos_cap_v2")
    assert DDPM_PRESETS["digits"].config.beta_schedule == "squaredcos_cap_v2"


def test_forward_noising_is_sqrt_abar_x0_plus_sqrt_one_minus_abar_eps():
    alpha_bar = torch.cumprod(1 - literal_betas("squaredcos_cap_v2"), 0)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand((6, 1, 8, 8), generator=generator) * 2 - 1
    eps = torch.randn((6, 1, 8, 8), generator=generator)
    t = torch.tensor([0, 1, 250, 500, 900, 999])
    noised = training_scheduler(TINY).add_noise(x0, eps, t)
    a = alpha_bar[t].float()[:, None, None, None]
    expected = a.sqrt() * x0 + (1 - a).sqrt() * eps
    torch.testing.assert_close(noised, expected, rtol=1e-4, atol=1e-5)


def test_a_training_step_noises_real_digits_and_regresses_the_noise(monkeypatch):
    """Watch one step: x_t fed to the U-Net is the formula's, the target is the noise."""
    data = open_dataset("digits", seed=0)
    trainer = DdpmTrainer(TINY, data, DdpmTrainSettings(batch_size=32), 10, seed=0)
    seen: dict[str, torch.Tensor] = {}
    real_batch, real_forward = data.batch, trainer.unet.forward
    real_mse = torch.nn.functional.mse_loss

    def batch(size):
        seen["images"], seen["labels"] = real_batch(size)
        return seen["images"], seen["labels"]

    def forward(x, t, labels=None):
        seen["xt"], seen["t"], seen["y"] = x, t, labels
        return real_forward(x, t, labels)

    def mse(prediction, target):
        seen["target"] = target
        return real_mse(prediction, target)

    monkeypatch.setattr(data, "batch", batch)
    monkeypatch.setattr(trainer.unet, "forward", forward)
    monkeypatch.setattr(torch.nn.functional, "mse_loss", mse)
    losses = trainer.step()

    alpha_bar = torch.cumprod(1 - literal_betas("squaredcos_cap_v2"), 0)
    x0 = seen["images"] * 2 - 1
    a = alpha_bar[seen["t"]].float()[:, None, None, None]
    expected = a.sqrt() * x0 + (1 - a).sqrt() * seen["target"]
    torch.testing.assert_close(seen["xt"], expected, rtol=1e-4, atol=1e-5)
    assert x0.min() >= -1 and x0.max() <= 1 and x0.min() < -0.9 and x0.max() > 0.9
    assert seen["t"].min() >= 0 and seen["t"].max() < T and len(set(seen["t"].tolist())) > 10
    assert abs(seen["target"].std().item() - 1) < 0.1
    # Labels reach the U-Net, some dropped to the "no class" row for guidance.
    y = seen["y"]
    kept = y != TINY.null_label
    assert torch.equal(y[kept], seen["labels"][kept]) and kept.sum() > len(y) // 2
    assert np.isfinite(losses["eps_mse"]) and set(losses) == {"eps_mse"}


def test_a_v_prediction_model_regresses_the_velocity(monkeypatch):
    """v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho 2022), which with
    x_t = sqrt(abar) x0 + sqrt(1 - abar) eps is (sqrt(abar) x_t - x0) / sqrt(1 - abar)."""
    config = replace(TINY, prediction="v_prediction")
    data = open_dataset("digits", seed=0)
    trainer = DdpmTrainer(config, data, DdpmTrainSettings(batch_size=32), 10, seed=0)
    seen: dict[str, torch.Tensor] = {}
    real_forward, real_mse = trainer.unet.forward, torch.nn.functional.mse_loss

    def forward(x, t, labels=None):
        seen["xt"], seen["t"] = x, t
        return real_forward(x, t, labels)

    def mse(prediction, target):
        seen["target"] = target
        return real_mse(prediction, target)

    real_batch = data.batch

    def batch(size):
        seen["images"], labels = real_batch(size)
        return seen["images"], labels

    monkeypatch.setattr(data, "batch", batch)
    monkeypatch.setattr(trainer.unet, "forward", forward)
    monkeypatch.setattr(torch.nn.functional, "mse_loss", mse)
    losses = trainer.step()
    a = torch.cumprod(1 - literal_betas("squaredcos_cap_v2"), 0)[seen["t"]]
    a = a.float()[:, None, None, None]
    expected = (a.sqrt() * seen["xt"] - (seen["images"] * 2 - 1)) / (1 - a).sqrt()
    torch.testing.assert_close(seen["target"], expected, rtol=1e-3, atol=1e-3)
    assert set(losses) == {"v_mse"} and np.isfinite(losses["v_mse"])


class _AsEpsilon(torch.nn.Module):
    """A v-predicting U-Net seen as an epsilon one: eps = sqrt(abar) v + sqrt(1 - abar) x_t."""

    def __init__(self, unet: UNet) -> None:
        super().__init__()
        self.unet = unet
        self.alpha_bar = torch.cumprod(1 - literal_betas("squaredcos_cap_v2"), 0).float()

    def forward(self, x, t, labels=None):
        a = self.alpha_bar[t][:, None, None, None]
        return a.sqrt() * self.unet(x, t, labels) + (1 - a).sqrt() * x


def test_sampling_a_v_model_equals_sampling_the_same_model_turned_into_epsilon():
    v_config = replace(TINY, prediction="v_prediction")
    unet = tiny_unet(v_config)
    seeds, labels = [3, 4, 11], [1, 7, 7]
    ours = sample(unet, v_config, seeds, labels, 8, 2.0)
    as_eps = sample(_AsEpsilon(unet), TINY, seeds, labels, 8, 2.0)
    torch.testing.assert_close(ours, as_eps, rtol=0, atol=1e-4)
    assert (ours - seed_noise(seeds)).abs().max() > 0.1


# ---------------------------------------------------------------- DDIM against diffusers


def diffusers_ddim(
    unet: UNet, seeds, labels, steps: int, guidance: float, null: int | None
) -> torch.Tensor:
    """The bare loop: a DDIMScheduler configured as documented, guidance spelled out."""
    scheduler = DDIMScheduler(
        num_train_timesteps=T, beta_schedule="squaredcos_cap_v2", clip_sample=True
    )
    scheduler.set_timesteps(steps)
    x = seed_noise(seeds)
    y = torch.tensor(labels) if null is not None else None
    with torch.no_grad():
        for t in scheduler.timesteps:
            times = torch.full((len(x),), int(t))
            eps = unet(x, times, y)
            if null is not None and guidance != 1.0:
                unconditional = unet(x, times, torch.full_like(y, null))
                eps = unconditional + guidance * (eps - unconditional)
            x = scheduler.step(eps, t, x, eta=0.0).prev_sample
    return (x.clamp(-1, 1) + 1) / 2


@pytest.mark.parametrize(
    ("config", "guidance", "steps"),
    [(UNCONDITIONAL, 1.0, 10), (TINY, 1.0, 7), (TINY, 2.5, 10), (TINY, 0.0, 5)],
    ids=["unconditional", "conditional", "guided", "unconditional-half"],
)
def test_ddim_sampling_equals_a_bare_diffusers_ddim_loop(config, guidance, steps):
    unet = tiny_unet(config)
    seeds, labels = [3, 4, 11], [1, 7, 7]
    ours = sample(unet, config, seeds, labels, steps, guidance)
    null = config.null_label if config.num_classes else None
    expected = diffusers_ddim(unet, seeds, labels, steps, guidance, null)
    assert ours.shape == (3, 1, 8, 8) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-4)
    assert (ours - seed_noise(seeds)).abs().max() > 0.1  # it did denoise something


def test_a_patch_unet_is_a_plain_unet_on_two_by_two_patches_folded_into_channels():
    """Space to depth, spelled out: pixel (2i + a, 2j + b) of channel c goes to channel
    4c + 2a + b at (i, j); the output is unfolded the same way."""
    patched = DdpmConfig(8, 3, (8, 16), 4, patch=2)
    plain = DdpmConfig(4, 12, (8, 16), 4)
    torch.manual_seed(0)
    unet = UNet(patched).eval()
    twin = UNet(plain).eval()
    twin.load_state_dict(unet.state_dict())
    x = torch.randn(2, 3, 8, 8)
    fold = x.reshape(2, 3, 4, 2, 4, 2).permute(0, 1, 3, 5, 2, 4).reshape(2, 12, 4, 4)
    t, y = torch.tensor([5, 700]), torch.tensor([1, 3])
    with torch.no_grad():
        out, folded_out = unet(x, t, y), twin(fold, t, y)
    unfold = folded_out.reshape(2, 3, 2, 2, 4, 4).permute(0, 1, 4, 2, 5, 3).reshape(2, 3, 8, 8)
    assert out.shape == x.shape
    torch.testing.assert_close(out, unfold, rtol=0, atol=1e-6)


def test_configs_of_older_files_predict_noise_on_whole_pixels_and_bad_values_are_refused():
    older = {k: v for k, v in TINY.to_dict().items() if k not in ("patch", "prediction")}
    assert DdpmConfig.from_dict(older).patch == 1
    assert DdpmConfig.from_dict(older).prediction == "epsilon"
    with pytest.raises(ValueError):
        DdpmConfig.from_dict({**TINY.to_dict(), "prediction": "sample"})
    for patch, size in ((3, 12), (2, 6)):  # not a power of two; 6 px in 2 px patches, halved
        with pytest.raises(ValueError):
            DdpmConfig.from_dict({**TINY.to_dict(), "patch": patch, "image_size": size})


@pytest.mark.reproducibility
def test_ddim_is_deterministic_and_eta_adds_seeded_noise():
    unet = tiny_unet()
    a = sample(unet, TINY, [1, 2], [0, 0], 5)
    assert torch.equal(a, sample(unet, TINY, [1, 2], [0, 0], 5))
    noisy = sample(unet, TINY, [1, 2], [0, 0], 5, eta=1.0)
    assert torch.equal(noisy, sample(unet, TINY, [1, 2], [0, 0], 5, eta=1.0))
    assert not torch.allclose(noisy, a)


def test_steps_beyond_the_models_schedule_are_bad_input():
    config = DdpmConfig(8, 1, (8, 16), 0, timesteps=100)
    with pytest.raises(BadInput, match="T = 100"):
        sample(tiny_unet(config), config, [0], [0], 101)
    with pytest.raises(BadInput):
        sample(tiny_unet(config), config, [0], [0], 0)


# ---------------------------------------------------------------- classifier-free guidance


def test_guidance_combines_conditional_and_unconditional_predictions():
    unet = tiny_unet()
    x = seed_noise([5, 6])
    y = torch.tensor([2, 9])
    t = torch.tensor(500)
    times = torch.full((2,), 500)
    with torch.no_grad():
        conditional = unet(x, times, y)
        unconditional = unet(x, times, torch.full((2,), TINY.null_label))
        assert not torch.allclose(conditional, unconditional)  # the class matters
        assert torch.equal(_guided_noise(unet, TINY, x, t, y, 1.0), conditional)
        for w in (0.0, 1.25, 3.0):
            torch.testing.assert_close(
                _guided_noise(unet, TINY, x, t, y, w),
                unconditional + w * (conditional - unconditional),
                rtol=1e-4,
                atol=1e-5,
            )


def test_an_unconditional_model_ignores_guidance_and_labels():
    unet = tiny_unet(UNCONDITIONAL)
    x, t = seed_noise([1]), torch.tensor(10)
    with torch.no_grad():
        plain = unet(x, torch.full((1,), 10))
        assert torch.equal(_guided_noise(unet, UNCONDITIONAL, x, t, None, 4.0), plain)
    assert label_for(UNCONDITIONAL, 3, None) == 0 and label_for(UNCONDITIONAL, 3, 7) == 0


def test_labels_are_the_one_asked_for_or_drawn_from_the_seed():
    assert label_for(TINY, 0, 7) == 7
    drawn = [label_for(TINY, seed, None) for seed in range(40)]
    assert drawn == [label_for(TINY, seed, None) for seed in range(40)]
    assert set(drawn) <= set(range(10)) and len(set(drawn)) >= 6
    with pytest.raises(BadInput, match="0 to 9, not 10"):
        label_for(TINY, 0, 10)
