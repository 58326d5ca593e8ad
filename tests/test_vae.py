"""The VAE family end to end: loss, training reproducibility, files, bundled weights, runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engine.api.catalogue import model_path
from engine.api.errors import BadInput, BadModelFile, JobCancelled
from engine.api.events import Frames, Metrics, Progress
from engine.api.kinds import Family
from engine.api.outcomes import FramesOutcome, ModelOutcome
from engine.api.parts import DatasetRef, Latents, ModelRef, Training
from engine.api.requests import DecodeRequest, SampleRequest, TrainRequest
from engine.context import JobContext, JobControl
from engine.data.digits import dataset_fingerprint
from engine.hashing import file_sha256
from engine.models.common.modelfile import sidecar_path
from engine.models.vae.files import load_vae, load_vae_with_prior, save_vae
from engine.models.vae.net import (
    Vae,
    VaeConfig,
    decode_latents,
    elbo_loss,
    kl_divergence,
    reparameterize,
    sample_latent,
)
from engine.models.vae.training import VAE_PRESETS, VaeTrainer, VaeTrainSettings
from engine.resources import BUNDLED_MODELS_DIR
from engine.train.datasets import open_dataset
from engine.train.determinism import deterministic_cpu

TINY = VaeConfig(image_size=8, channels=1, hidden=(16,), latent_dim=2)
BUNDLED_PATH = BUNDLED_MODELS_DIR / "vae-digits.safetensors"
DIGITS = ModelRef(Family.VAE, "vae-digits")


def tiny_model(seed: int = 0) -> Vae:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Vae(TINY)


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.safetensors"
    save_vae(path, tiny_model(), TINY, {"seed": 0, "note": "test"})
    return path


def new_runtime(tmp_path: Path):
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    return Runtime(device_preference="cpu", hashes=HashService(HashCache(tmp_path / "h.db")))


def sample_request(model: str = "vae-digits", seed: int = 0, count: int = 16) -> SampleRequest:
    return SampleRequest(model=ModelRef(Family.VAE, model), seed=seed, count=count)


def run(model: str, seed: int, count: int, tmp_path: Path) -> list[np.ndarray]:
    """A fresh runtime each time, so nothing is shared between the runs compared."""
    runtime = new_runtime(tmp_path)
    try:
        return [
            r.rgb for r in runtime.run(sample_request(model, seed, count), JobContext(1)).images
        ]
    finally:
        runtime.close()


# ---------------------------------------------------------------- ELBO and reparameterisation


def test_kl_is_zero_at_the_prior_and_matches_the_closed_form():
    zeros = torch.zeros(3, 4)
    assert torch.equal(kl_divergence(zeros, zeros), torch.zeros(3))
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension.
    assert torch.allclose(kl_divergence(torch.ones(3, 4), zeros), torch.full((3,), 2.0))
    assert (kl_divergence(torch.randn(5, 4), torch.randn(5, 4)) > 0).all()


def test_reparameterize_is_seeded_differentiable_and_collapses_without_variance():
    mu = torch.randn(4, 3, requires_grad=True)
    logvar = torch.zeros(4, 3, requires_grad=True)
    a = reparameterize(mu, logvar, torch.Generator().manual_seed(7))
    b = reparameterize(mu, logvar, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    a.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    tiny_var = torch.full((4, 3), -80.0)
    assert torch.allclose(reparameterize(mu.detach(), tiny_var), mu.detach())


def test_elbo_is_finite_sums_pixels_and_trains_both_halves():
    model = tiny_model()
    x = torch.rand(5, 1, 8, 8)
    logits, mu, logvar = model(x, torch.Generator().manual_seed(0))
    assert logits.shape == x.shape and mu.shape == logvar.shape == (5, TINY.latent_dim)
    loss = elbo_loss(logits, x, mu, logvar)
    assert torch.isfinite(loss.total) and loss.kl >= 0
    assert torch.allclose(loss.total, loss.recon + loss.kl)
    bce = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
    assert torch.allclose(loss.recon, bce / 5, rtol=1e-4)
    assert torch.allclose(elbo_loss(logits, x, mu, logvar, beta=0.0).total, loss.recon)
    loss.total.backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0
    assert model.decoder[0].weight.grad.abs().sum() > 0


def test_decode_latents_gives_gray_rgb_uint8():
    rgb = decode_latents(tiny_model(), torch.randn(3, TINY.latent_dim))
    assert rgb.shape == (3, 8, 8, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


# ---------------------------------------------------------------- training


def train_tiny(seed: int, steps: int = 30) -> Vae:
    data = open_dataset("digits", seed=seed)
    trainer = VaeTrainer(TINY, data, VaeTrainSettings(batch_size=128), steps, seed)
    with deterministic_cpu(seed):
        for _ in range(steps):
            losses = trainer.step()
    assert set(losses) == {"loss", "recon", "kl"} and all(np.isfinite(list(losses.values())))
    return trainer.model


def test_training_is_bitwise_reproducible_and_depends_on_the_seed():
    threads = torch.get_num_threads()
    a, b, c = (train_tiny(seed).state_dict() for seed in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    # The caller's torch settings come back untouched.
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


# ---------------------------------------------------------------- bundled weights


def test_bundled_weights_load_and_record_the_committed_dataset():
    model, config, meta = load_vae(BUNDLED_PATH)
    assert config == VAE_PRESETS["digits"].config
    assert 8 <= config.latent_dim <= 16
    assert load_vae_with_prior(BUNDLED_PATH)[3] is not None  # the fitted mixture prior
    record = json.loads(sidecar_path(BUNDLED_PATH).read_text())
    assert record["meta"]["dataset_sha256"] == dataset_fingerprint()
    assert meta == record["meta"]
    assert {"seed", "steps", "final_losses", "torch"} <= set(meta)
    assert BUNDLED_PATH.stat().st_size < 5 * 1024 * 1024
    assert model_path(DIGITS) == BUNDLED_PATH


# ---------------------------------------------------------------- sampling


def test_runner_returns_count_rgb_images_with_their_recipe(tmp_path):
    runtime = new_runtime(tmp_path)
    results = runtime.run(sample_request(seed=5, count=4), JobContext(1)).images
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.seed for r in results] == [5, 6, 7, 8]
    for r in results:
        assert r.rgb.shape == (8, 8, 3) and r.rgb.dtype == np.uint8
    info = results[0].info
    assert info["model"] == "vae-digits" and info["family"] == "vae"
    assert info["model_sha256"] == file_sha256(BUNDLED_PATH) and info["model_hash_kind"] == "file"
    assert (info["device"], info["dtype"], info["torch"]) == ("cpu", "float32", torch.__version__)


@pytest.mark.reproducibility
def test_sample_i_of_a_batch_equals_a_single_run_with_seed_plus_i(tmp_path):
    batch = run("vae-digits", 100, 5, tmp_path)
    for i, rgb in enumerate(batch):
        assert np.array_equal(rgb, run("vae-digits", 100 + i, 1, tmp_path)[0])
    again = run("vae-digits", 100, 5, tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(batch, again, strict=True))
    assert not np.array_equal(batch[0], batch[1])


def test_runner_loads_a_user_file_and_reloads_it_when_retrained(tiny_file: Path, tmp_path):
    runtime = new_runtime(tmp_path)
    request = sample_request(str(tiny_file), 0, 2)
    before = runtime.run(request, JobContext(1)).images
    assert before[0].info["model_sha256"] == file_sha256(tiny_file)
    save_vae(tiny_file, tiny_model(seed=1), TINY, {})
    after = runtime.run(request, JobContext(2)).images
    assert after[0].info["model_sha256"] == file_sha256(tiny_file)
    assert not np.array_equal(before[0].rgb, after[0].rgb)
    z = sample_latent(TINY.latent_dim, 0)
    assert np.array_equal(after[0].rgb, decode_latents(load_vae(tiny_file)[0], z)[0])


def test_a_cancelled_job_stops_before_any_sample(tmp_path):
    control = JobControl()
    control.cancel()
    with pytest.raises(JobCancelled):
        new_runtime(tmp_path).run(sample_request(count=8), JobContext(1, control=control))


def test_cancel_during_a_run_takes_effect_within_one_step(tmp_path):
    control = JobControl()
    progress: list[Progress] = []

    def emit(event):
        if isinstance(event, Progress):
            progress.append(event)
            control.cancel()

    with pytest.raises(JobCancelled):
        new_runtime(tmp_path).run(
            sample_request(count=40), JobContext(1, emit=emit, control=control)
        )
    assert [(p.step, p.total) for p in progress] == [(16, 40)]  # one step: 16 samples


# ---------------------------------------------------------------- decoding latents (sliders)


def test_decoding_a_latent_gives_the_frame_sampling_gives_for_that_latent(tmp_path):
    runtime = new_runtime(tmp_path)
    sampled = runtime.run(sample_request(seed=42, count=1), JobContext(1)).images[0].rgb
    prior = load_vae_with_prior(BUNDLED_PATH)[3]  # sampling draws from the learned prior
    z = tuple(float(v) for v in prior.sample(torch.Generator().manual_seed(42))[0])
    outcome = runtime.run(DecodeRequest(model=DIGITS, latents=Latents((z, z))), JobContext(2))
    assert isinstance(outcome, FramesOutcome) and len(outcome.frames) == 2
    np.testing.assert_array_equal(outcome.frames[0], sampled)


def test_a_latent_of_the_wrong_length_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="8 values, not 3"):
        new_runtime(tmp_path).run(
            DecodeRequest(model=DIGITS, latents=Latents(((0.0, 0.0, 0.0),))), JobContext(1)
        )


# ---------------------------------------------------------------- training in the app


def train_request(out: Path, steps: int, **training) -> TrainRequest:
    return TrainRequest(
        family=Family.VAE,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, batch_size=64, **training),
        output=str(out),
    )


def test_training_writes_a_model_that_samples_and_reports_metrics_and_frames(tmp_path):
    out = tmp_path / "mine.safetensors"
    events: list = []
    outcome = new_runtime(tmp_path).run(train_request(out, 60), JobContext(1, emit=events.append))
    assert isinstance(outcome, ModelOutcome) and outcome.path == str(out) and outcome.step == 60
    assert not outcome.stopped_early and set(outcome.metrics) == {"loss", "recon", "kl"}
    model, config, meta = load_vae(out)
    assert config == VAE_PRESETS["digits"].config and meta["steps"] == 60
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert metrics[-1].step == 60 and metrics[-1].values["images_per_s"] > 0
    frames = [e for e in events if isinstance(e, Frames)]
    assert frames and frames[0].frames[0].shape == (8, 8, 3)
    again = new_runtime(tmp_path).run(sample_request(str(out), 3, 2), JobContext(2)).images
    assert again[0].rgb.shape == (8, 8, 3)


def test_stop_keeps_the_step_reached_and_cancel_keeps_the_last_checkpoint(tmp_path):
    out = tmp_path / "stopped.safetensors"
    control = JobControl()

    def stop_at_25(event):
        if isinstance(event, Progress) and event.step >= 25:
            control.stop()

    ctx = JobContext(1, emit=stop_at_25, control=control)
    ctx._progress.interval_s = 0  # every step reports, so the stop lands at a known step
    outcome = new_runtime(tmp_path).run(train_request(out, 10_000, checkpoint_every=10), ctx)
    assert outcome.stopped_early and 25 <= outcome.step <= 26
    assert load_vae(out)[2]["steps"] == outcome.step

    cancelled = tmp_path / "cancelled.safetensors"
    control = JobControl()

    def cancel_at_25(event):
        if isinstance(event, Progress) and event.step >= 25:
            control.cancel()

    ctx = JobContext(1, emit=cancel_at_25, control=control)
    ctx._progress.interval_s = 0
    with pytest.raises(JobCancelled):
        new_runtime(tmp_path).run(train_request(cancelled, 10_000, checkpoint_every=10), ctx)
    assert load_vae(cancelled)[2]["steps"] == 20  # the last checkpoint, intact
    assert not list(tmp_path.glob(".*.tmp"))


def test_training_in_the_app_leaves_torch_settings_alone(tmp_path):
    threads = torch.get_num_threads()
    new_runtime(tmp_path).run(train_request(tmp_path / "m.safetensors", 5), JobContext(1))
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


# ---------------------------------------------------------------- bad files


def assert_bad_file(path: Path, *phrases: str) -> str:
    with pytest.raises(BadModelFile) as caught:
        load_vae(path)
    message = caught.value.message
    assert path.name in message
    for phrase in phrases:
        assert phrase in message
    with pytest.raises(BadModelFile):
        new_runtime(path.parent).run(sample_request(str(path), 0, 1), JobContext(1))
    return message


def test_truncated_file_is_a_bad_model_file(tmp_path: Path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(BUNDLED_PATH.read_bytes()[:-1000])
    assert_bad_file(path, "damaged or incomplete", "python -m engine.train")


def test_garbage_file_is_a_bad_model_file(tmp_path: Path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"not a model at all" * 20)
    assert_bad_file(path, "damaged or incomplete")


def test_pickle_checkpoints_are_refused_without_being_opened(tmp_path: Path):
    path = tmp_path / "model.ckpt"
    shutil.copy(BUNDLED_PATH, path)  # even valid bytes: the format itself is refused
    assert_bad_file(path, "not a .safetensors file", "can run code")


def test_missing_file_names_the_path(tmp_path: Path):
    assert_bad_file(tmp_path / "nowhere.safetensors", "does not exist")


def test_wrong_keys_are_a_bad_model_file(tiny_file: Path, tmp_path: Path):
    from safetensors import safe_open

    with safe_open(str(tiny_file), framework="pt") as fh:
        metadata = fh.metadata()
        tensors = {k.replace("encoder", "enc"): fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    path = tmp_path / "renamed.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    assert_bad_file(path, "does not match", "train it again")


def test_a_safetensors_file_without_vae_settings_is_refused(tmp_path: Path):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(2)}, str(path))
    assert_bad_file(path, "not a Latent Studio VAE")


def test_nan_weights_are_a_broken_model_not_a_black_image(tmp_path):
    model = tiny_model()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float("nan"))
    path = tmp_path / "nan.safetensors"
    save_vae(path, model, TINY, {})
    with pytest.raises(BadModelFile, match="no picture"):
        new_runtime(tmp_path).run(sample_request(str(path), 0, 1), JobContext(1))
