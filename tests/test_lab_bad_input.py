"""Bad input to the Latent Lab's training gets a clear sentence and loses nothing: empty
and broken folders, every odd image mode, tiny and single-image sets, a diverging loss,
checkpoints of another model or cut short, a training cancelled mid-way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.api.errors import BadInput, BadModelFile, JobCancelled, UserFacingError
from engine.api.events import Progress
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.context import JobContext, JobControl
from engine.data.folder import MIN_IMAGES
from engine.models.common.modelfile import read_model_file
from engine.train.datasets import open_dataset
from engine.train.state import state_path
from tests.user_folders import add_unreadable_files, is_sentence, snapshot


def rgb_image(path: Path, size=(40, 30), colour=(200, 30, 30)) -> None:
    Image.new("RGB", size, colour).save(path)


# ---------------------------------------------------------------- folders


def test_an_empty_folder_is_a_sentence(tmp_path):
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 32)
    assert "found 0 usable images" in caught.value.message and is_sentence(caught.value.message)


def test_a_folder_of_broken_and_foreign_files_is_skipped_counted_and_reported(tmp_path):
    add_unreadable_files(tmp_path)  # and one good image, the JPEG cut.jpg was cut from
    before = snapshot(tmp_path)
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 32)
    message = caught.value.message
    assert "found 1 usable image," in message and "4 skipped" in message
    assert "fake.png: cannot be read" in message and is_sentence(message)
    for name in range(MIN_IMAGES):  # enough good images: the same files are only reported
        Image.new("RGB", (50, 50), (name * 10, 0, 0)).save(tmp_path / f"ok{name}.png")
    before = snapshot(tmp_path)
    data = open_dataset(str(tmp_path), 16)
    assert data.info.count == MIN_IMAGES + 1 and "4 skipped" in data.info.note
    assert snapshot(tmp_path) == before  # the user's folder is only read


def test_every_odd_image_mode_becomes_rgb_of_the_chosen_size(tmp_path):
    Image.new("L", (32, 32), 255).save(tmp_path / "grey.png")
    Image.new("LA", (32, 32), (0, 0)).save(tmp_path / "grey-alpha.png")  # fully transparent
    Image.new("RGBA", (32, 32), (0, 0, 255, 0)).save(tmp_path / "clear.png")
    Image.new("P", (32, 32), 0).save(tmp_path / "palette.png")
    Image.fromarray(np.full((32, 32), 65535, np.uint16)).save(tmp_path / "deep.png")
    Image.new("CMYK", (32, 32), (255, 0, 0, 0)).save(tmp_path / "cyan.jpg")  # pure cyan
    Image.new("RGB", (5, 7), (0, 0, 0)).save(tmp_path / "tiny.png")  # smaller than 32
    for i in range(MIN_IMAGES):
        rgb_image(tmp_path / f"plain{i}.png", (60, 20))  # wide: centre-cropped
    data = open_dataset(str(tmp_path), 32)
    images = data.images.numpy()
    assert images.shape == (MIN_IMAGES + 7, 3, 32, 32) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1 and np.isfinite(images).all()
    assert "enlarged" in data.info.note and "converted" in data.info.note
    by_name = dict(zip(sorted(p.name for p in tmp_path.iterdir()), images, strict=True))
    white = np.ones(3)
    np.testing.assert_allclose(by_name["grey.png"].mean((1, 2)), white, atol=0.01)
    np.testing.assert_allclose(by_name["clear.png"].mean((1, 2)), white, atol=0.01)  # on white
    np.testing.assert_allclose(by_name["grey-alpha.png"].mean((1, 2)), white, atol=0.01)
    np.testing.assert_allclose(by_name["deep.png"].mean((1, 2)), white, atol=0.01)  # not clipped
    oracle = np.asarray(Image.new("CMYK", (1, 1), (255, 0, 0, 0)).convert("RGB"))[0, 0] / 255
    np.testing.assert_allclose(by_name["cyan.jpg"].mean((1, 2)), oracle, atol=0.05)
    np.testing.assert_allclose(by_name["plain0.png"].mean((1, 2)), [200 / 255, 30 / 255, 30 / 255],
                               atol=0.01)  # fmt: skip


def test_a_one_image_data_set_is_refused_with_what_it_needs(tmp_path):
    rgb_image(tmp_path / "only.png")
    with pytest.raises(BadInput) as caught:
        open_dataset(str(tmp_path), 32)
    assert f"at least {MIN_IMAGES}" in caught.value.message and is_sentence(caught.value.message)


# ---------------------------------------------------------------- training


def train_request(out: Path, family: str = "vae", steps: int = 30, **kwargs) -> TrainRequest:
    return TrainRequest(
        family=Family(family),
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, batch_size=16, checkpoint_every=10, seed=1),
        output=str(out),
        **kwargs,
    )


def test_a_diverging_loss_stops_keeps_the_last_good_checkpoint_and_says_why(
    cpu_runtime, tmp_path, monkeypatch
):
    from engine.models.vae.training import VaeTrainer

    real_step = VaeTrainer.step

    def step_then_explode(self):
        losses = real_step(self)
        return {**losses, "loss": math.nan} if self.state.steps_done >= 25 else losses

    monkeypatch.setattr(VaeTrainer, "step", step_then_explode)
    out = tmp_path / "model.safetensors"
    with pytest.raises(UserFacingError) as caught:
        cpu_runtime.run(train_request(out, steps=100), JobContext(1))
    message = caught.value.message
    assert "nan" in message and "lower learning rate" in message and is_sentence(message)
    _tensors, record = read_model_file(out, Family.VAE, "")
    assert record["meta"]["steps"] == 20  # the last checkpoint before the loss went bad
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_a_checkpoint_of_another_family_is_refused_and_nothing_is_overwritten(
    cpu_runtime, tmp_path
):
    gan = tmp_path / "gan.safetensors"
    cpu_runtime.run(train_request(gan, "gan", steps=10), JobContext(1))
    out = tmp_path / "vae.safetensors"
    request = train_request(out, resume_from=str(state_path(gan)))
    with pytest.raises(BadModelFile) as caught:
        cpu_runtime.run(request, JobContext(2))
    assert "another model" in caught.value.message and is_sentence(caught.value.message)
    assert not out.exists()


def test_a_checkpoint_of_another_size_is_refused(cpu_runtime, tmp_path):
    digits = tmp_path / "digits.safetensors"
    cpu_runtime.run(train_request(digits, "vae", steps=10), JobContext(1))
    request = TrainRequest(
        family=Family.VAE,
        preset="custom",
        dataset=DatasetRef("shapes"),
        training=Training(steps=20, batch_size=8),
        output=str(tmp_path / "shapes.safetensors"),
        resume_from=str(state_path(digits)),
    )
    with pytest.raises(BadModelFile) as caught:
        cpu_runtime.run(request, JobContext(2))
    assert is_sentence(caught.value.message)
    assert not (tmp_path / "shapes.safetensors").exists()


def test_a_truncated_checkpoint_is_a_sentence(cpu_runtime, tmp_path):
    model = tmp_path / "model.safetensors"
    cpu_runtime.run(train_request(model, steps=10), JobContext(1))
    state = state_path(model)
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    with pytest.raises(BadModelFile) as caught:
        cpu_runtime.run(train_request(tmp_path / "more.safetensors", resume_from=str(state)),
                        JobContext(2))  # fmt: skip
    assert "cannot be resumed" in caught.value.message and is_sentence(caught.value.message)


def test_a_training_cancelled_mid_way_keeps_its_checkpoint_and_resumes_from_it(
    cpu_runtime, tmp_path
):
    out = tmp_path / "model.safetensors"
    control = JobControl()

    def cancel_at_25(event):
        if isinstance(event, Progress) and event.step >= 25:
            control.cancel()

    ctx = JobContext(1, emit=cancel_at_25, control=control)
    ctx._progress.interval_s = 0
    with pytest.raises(JobCancelled):
        cpu_runtime.run(train_request(out, "gan", steps=1000), ctx)
    _tensors, record = read_model_file(out, Family.GAN, "")
    assert record["meta"]["steps"] == 20  # the last periodic checkpoint, whole
    outcome = cpu_runtime.run(
        train_request(out, "gan", steps=40, resume_from=str(state_path(out))), JobContext(2)
    )
    assert outcome.step == 40 and not outcome.stopped_early
