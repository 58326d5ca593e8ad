"""The training job the VAE, GAN and DDPM share: bad input gets a clear sentence and loses
nothing. A diverging or exploding loss, resuming (exactly, from a model or its state),
checkpoints of another model or cut short, cancel, pause."""

from __future__ import annotations

import importlib
import json
import math
import shutil
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from engine.api.errors import BadModelFile, JobCancelled
from engine.api.events import Paused, Progress, Resumed
from engine.api.families import trainable_families
from engine.api.kinds import Family
from engine.api.outcomes import ModelOutcome
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.context import JobContext, JobControl
from engine.resources import BUNDLED_MODELS_DIR
from engine.train.datasets import EpochOrder, ShapesSource
from engine.train.determinism import deterministic_cpu
from engine.train.loop import EXPLODED_LOSS, TrainingDiverged, run_training
from engine.train.state import STATE_KEY, TrainingState, state_path

FAMILIES = trainable_families()  # every family whose spec says it trains
BATCH = 16  # digits: 1,797 images, so every run here ends mid-way through its first epoch
SEED = 3


@pytest.fixture(autouse=True)
def cheaper_side_work(monkeypatch):
    """The same training, with cheaper work beside it: the VAE's prior is fitted (at every
    checkpoint) to 256 encoded images instead of 4,096, and a DDPM preview draws 2 samples
    in 2 steps instead of 16 in 20. Neither touches what a step computes."""
    from engine.models.ddpm import training as ddpm_training
    from engine.models.vae import training as vae_training

    monkeypatch.setattr(vae_training, "PRIOR_POINTS", 256)
    monkeypatch.setattr(ddpm_training, "PREVIEW_SAMPLES", 2)
    monkeypatch.setattr(ddpm_training, "PREVIEW_STEPS", 2)


def new_runtime(tmp_path: Path):
    from engine.hashing import HashCache, HashService
    from engine.runtime import Runtime

    return Runtime(device_preference="cpu", hashes=HashService(HashCache(tmp_path / "h.db")))


def train_request(
    family: Family,
    out: Path,
    steps: int,
    every: int = 500,
    resume: Path | None = None,
    preset: str = "digits",
    data: str = "digits",
) -> TrainRequest:
    return TrainRequest(
        family=family,
        preset=preset,
        dataset=DatasetRef(data),
        training=Training(steps=steps, batch_size=BATCH, seed=SEED, checkpoint_every=every),
        output=str(out),
        resume_from=None if resume is None else str(resume),
    )


def train(request: TrainRequest, tmp_path: Path, ctx: JobContext | None = None) -> ModelOutcome:
    runtime = new_runtime(tmp_path)
    try:
        return runtime.run(request, ctx or JobContext(1))
    finally:
        runtime.close()


def controlled(at_step: int, action: Callable[[JobControl], None]) -> tuple[JobContext, list]:
    """A context whose control gets `action` once step `at_step` is reported, and the
    events it sent."""
    control = JobControl()
    events: list = []

    def emit(event) -> None:
        events.append(event)
        if isinstance(event, Progress) and event.step == at_step:
            action(control)

    ctx = JobContext(1, emit=emit, control=control)
    ctx._progress.interval_s = 0  # every step reports, so the action lands at a known step
    return ctx, events


def model_meta(family: Family, path: Path) -> dict:
    """The model file's record, through the family's own loader (so: it loads)."""
    if family is Family.VAE:
        from engine.models.vae.files import load_vae as load
    elif family is Family.GAN:
        from engine.models.gan.files import load_gan as load
    elif family is Family.DDPM:
        from engine.models.ddpm.files import load_ddpm as load
    else:  # a classic family's files module: load_<id>(path) -> Loaded<Id> with .meta
        files = importlib.import_module(f"engine.models.{family.value}.files")
        return getattr(files, f"load_{family.value}")(path).meta
    return load(path)[2]


def state_steps(path: Path) -> int:
    """The step a training state holds, after reading every tensor of it."""
    return int(TrainingState().load(path)["steps_done"])


def tensors(path: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt") as fh:
        return {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118


def assert_same_tensors(a: Path, b: Path) -> None:
    first, second = tensors(a), tensors(b)
    assert first.keys() == second.keys()
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, f"{len(different)} tensors differ, first {different[:3]}"


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def assert_sentence(message: str, *phrases: str) -> None:
    assert message.endswith(".") and "\n" not in message and len(message) > 40, message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def poison(monkeypatch, family: Family, at_step: int, value: float) -> None:
    """The family's trainer returns `value` as its first loss from step `at_step` on."""
    if family is Family.VAE:
        from engine.models.vae.training import VaeTrainer as trainer
    elif family is Family.GAN:
        from engine.models.gan.training import GanTrainer as trainer
    elif family is Family.DDPM:
        from engine.models.ddpm.training import DdpmTrainer as trainer
    else:  # a classic family's training module: <Id>Trainer (GmmTrainer, RbmTrainer)
        training = importlib.import_module(f"engine.models.{family.value}.training")
        trainer = getattr(training, f"{family.value.capitalize()}Trainer")
    real_step = trainer.step

    def step(self) -> dict[str, float]:
        losses = real_step(self)
        if self.state.steps_done >= at_step:
            first = next(iter(losses))
            losses = {**losses, first: value}
        return losses

    monkeypatch.setattr(trainer, "step", step)


# ---------------------------------------------------------------- a loss gone bad


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.value)
def test_a_nan_loss_stops_says_why_and_keeps_the_last_good_checkpoint(
    family, tmp_path, monkeypatch
):
    poison(monkeypatch, family, at_step=7, value=math.nan)
    out = tmp_path / "model.safetensors"
    with pytest.raises(TrainingDiverged) as caught:
        train(train_request(family, out, steps=12, every=3), tmp_path)
    assert_sentence(caught.value.message, "step 7", "nan", "step 6 is kept", "lower learning rate")
    assert model_meta(family, out)["steps"] == 6  # the checkpoint before the loss went bad
    assert state_steps(state_path(out)) == 6
    assert not temp_files(tmp_path)


@pytest.mark.parametrize("value", [1e12, -1e12, math.inf], ids=["1e12", "-1e12", "inf"])
def test_an_exploding_finite_loss_is_treated_like_nan(value, tmp_path, monkeypatch):
    poison(monkeypatch, Family.VAE, at_step=5, value=value)
    out = tmp_path / "model.safetensors"
    with pytest.raises(TrainingDiverged) as caught:
        train(train_request(Family.VAE, out, steps=12, every=4), tmp_path)
    assert_sentence(caught.value.message, "step 5", "step 4 is kept", "lower learning rate")
    assert model_meta(Family.VAE, out)["steps"] == 4
    assert state_steps(state_path(out)) == 4
    assert not temp_files(tmp_path)


class ScriptedTrainer:
    """A trainer whose losses are given; it only counts its steps."""

    batch_size = 1

    def __init__(self, losses: list[float]) -> None:
        self.losses = losses
        self.steps = 0

    def step(self) -> dict[str, float]:
        self.steps += 1
        return {"loss": self.losses[self.steps - 1]}

    def samples(self) -> list[np.ndarray]:
        return [np.zeros((2, 2, 3), np.uint8)]


def test_the_explosion_threshold_spares_large_real_losses_and_nothing_is_saved_after_it():
    # The largest honest loss here: a 64 x 64 x 3 VAE's summed BCE, about 8,500 at first.
    big = EXPLODED_LOSS / 10
    trainer = ScriptedTrainer([big, -big, big, EXPLODED_LOSS * 10, 1.0])
    saved: list[int] = []
    with pytest.raises(TrainingDiverged) as caught:
        run_training(trainer, 5, JobContext(1), lambda step, _: saved.append(step), 2)
    assert trainer.steps == 4 and saved == [2]
    assert_sentence(caught.value.message, "step 4", "step 2 is kept", "lower learning rate")


def test_a_loss_gone_bad_before_any_checkpoint_says_nothing_was_saved():
    trainer = ScriptedTrainer([1.0, math.nan])
    saved: list[int] = []
    with pytest.raises(TrainingDiverged) as caught:
        run_training(trainer, 5, JobContext(1), lambda step, _: saved.append(step), 100)
    assert saved == []
    assert_sentence(caught.value.message, "step 2", "lower learning rate")
    assert "kept" not in caught.value.message


def test_a_resumed_training_that_diverges_keeps_the_step_it_resumed_from():
    trainer = ScriptedTrainer([math.nan])
    with pytest.raises(TrainingDiverged) as caught:
        run_training(trainer, 50, JobContext(1), lambda step, _: None, 100, start_step=30)
    assert_sentence(caught.value.message, "step 31", "step 30 is kept")


# ---------------------------------------------------------------- resuming


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.value)
def test_stop_then_resume_from_the_model_file_equals_one_uninterrupted_run(family, tmp_path):
    straight = tmp_path / "straight.safetensors"
    with deterministic_cpu(SEED):
        train(train_request(family, straight, steps=8), tmp_path)
    halves = tmp_path / "halves.safetensors"
    ctx, _events = controlled(4, JobControl.stop)
    with deterministic_cpu(SEED):
        first = train(train_request(family, halves, steps=8), tmp_path, ctx)
    assert first.stopped_early and first.step == 4 and state_steps(state_path(halves)) == 4
    with deterministic_cpu(SEED):  # the user picks the model file; its state is beside it
        second = train(train_request(family, halves, steps=8, resume=halves), tmp_path)
    assert second.step == 8 and not second.stopped_early
    assert_same_tensors(state_path(straight), state_path(halves))  # weights, moments, RNGs
    assert_same_tensors(straight, halves)
    assert model_meta(family, halves)["resumed_from"] == str(halves)


def test_stop_then_resume_on_procedural_shapes_equals_one_uninterrupted_run(tmp_path):
    """Shapes are drawn afresh for every batch: the state keeps where their generator was."""
    straight, halves = tmp_path / "straight.safetensors", tmp_path / "halves.safetensors"
    request = partial(train_request, Family.VAE, steps=6, preset="shapes", data="shapes")
    with deterministic_cpu(SEED):
        train(request(straight), tmp_path)
    ctx, _events = controlled(3, JobControl.stop)
    with deterministic_cpu(SEED):
        assert train(request(halves), tmp_path, ctx).step == 3
    with deterministic_cpu(SEED):
        train(request(halves, resume=halves), tmp_path)
    assert_same_tensors(state_path(straight), state_path(halves))
    assert_same_tensors(straight, halves)


def test_the_shapes_drawn_after_a_restored_state_are_those_never_stopped_would_draw():
    def images(source: ShapesSource, count: int) -> list[torch.Tensor]:
        return [source.batch(4)[0] for _ in range(count)]

    straight = images(ShapesSource(16, SEED), 3)
    first = ShapesSource(16, SEED)
    done = images(first, 1)
    resumed = ShapesSource(16, SEED + 1)  # whatever it was built with, the state decides
    resumed.generator.set_state(first.generator.get_state())
    for want, got in zip(straight, done + images(resumed, 2), strict=True):
        assert torch.equal(want, got)


def test_the_data_order_resumes_mid_epoch_and_across_epochs():
    def batches(order: EpochOrder, count: int) -> list[list[int]]:
        return [order.take(4).tolist() for _ in range(count)]

    straight = batches(EpochOrder(10, SEED), 8)  # two items per epoch go unused
    for taken in (0, 1, 2, 3):  # before the first draw, mid-epoch, at and after its end
        first = EpochOrder(10, SEED)
        done = batches(first, taken)
        resumed = EpochOrder(10, SEED + 1)  # whatever it was built with, the state decides
        resumed.set_state(first.get_state())
        assert done + batches(resumed, 8 - taken) == straight


def test_a_data_set_that_changed_size_since_the_state_begins_a_new_epoch():
    started = EpochOrder(10, SEED)
    started.take(4)
    grown = EpochOrder(12, SEED)  # a folder with two images added since
    grown.set_state(started.get_state())
    assert sorted(grown.take(12).tolist()) == list(range(12))


def test_a_state_of_an_older_version_resumes_with_a_fresh_epoch():
    older = torch.Generator().manual_seed(SEED)  # what states held before: the generator
    order = EpochOrder(10, 0)
    order.set_state(older.get_state())
    assert order.take(4).tolist() == torch.randperm(10, generator=older)[:4].tolist()


def test_a_missing_state_file_names_the_path(tmp_path):
    missing = tmp_path / "gone.train.safetensors"
    out = tmp_path / "out.safetensors"
    with pytest.raises(BadModelFile) as caught:
        train(train_request(Family.GAN, out, steps=4, resume=missing), tmp_path)
    assert_sentence(caught.value.message, str(missing), "does not exist", "new training")
    assert not out.exists()


def test_a_model_without_a_training_state_beside_it_cannot_be_resumed(tmp_path):
    bundled = tmp_path / "vae-digits.safetensors"
    shutil.copy(BUNDLED_MODELS_DIR / "vae-digits.safetensors", bundled)
    out = tmp_path / "more.safetensors"
    with pytest.raises(BadModelFile) as caught:
        train(train_request(Family.VAE, out, steps=4, resume=bundled), tmp_path)
    assert_sentence(
        caught.value.message, "vae-digits.safetensors", "no training state", "new training"
    )
    assert not out.exists()


def test_a_state_of_another_family_is_refused_and_overwrites_nothing(tmp_path):
    gan = tmp_path / "gan.safetensors"
    train(train_request(Family.GAN, gan, steps=2), tmp_path)
    vae = tmp_path / "vae.safetensors"
    train(train_request(Family.VAE, vae, steps=2), tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(BadModelFile) as caught:  # into the VAE's own file: left alone
        train(train_request(Family.VAE, vae, steps=4, resume=state_path(gan)), tmp_path)
    assert_sentence(caught.value.message, "gan.train.safetensors", "GAN", "VAE", "new training")
    assert snapshot(tmp_path) == before


def test_a_state_of_another_size_is_refused_and_creates_nothing(tmp_path):
    digits = tmp_path / "digits.safetensors"
    train(train_request(Family.VAE, digits, steps=2), tmp_path)
    before = snapshot(tmp_path)
    shapes = tmp_path / "shapes.safetensors"
    request = train_request(Family.VAE, shapes, 4, resume=digits, preset="shapes", data="shapes")
    with pytest.raises(BadModelFile) as caught:
        train(request, tmp_path)
    assert_sentence(caught.value.message, "digits.train.safetensors", "size", "new training")
    assert snapshot(tmp_path) == before


def test_a_truncated_state_is_a_sentence_and_overwrites_nothing(tmp_path):
    model = tmp_path / "model.safetensors"
    train(train_request(Family.GAN, model, steps=2), tmp_path)
    state = state_path(model)
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    before = snapshot(tmp_path)
    for chosen in (state, model):  # picked itself, or found beside the model picked
        with pytest.raises(BadModelFile) as caught:
            train(train_request(Family.GAN, model, steps=4, resume=chosen), tmp_path)
        assert_sentence(caught.value.message, "model.train.safetensors", "damaged")
    assert snapshot(tmp_path) == before


def test_a_state_with_broken_json_is_a_sentence(tmp_path):
    model = tmp_path / "model.safetensors"
    train(train_request(Family.GAN, model, steps=2), tmp_path)
    state = state_path(model)
    from safetensors.torch import save_file

    save_file(tensors(state), str(state), metadata={STATE_KEY: "{not json"})
    with pytest.raises(BadModelFile) as caught:
        train(train_request(Family.GAN, model, steps=4, resume=state), tmp_path)
    assert_sentence(caught.value.message, "model.train.safetensors", "new training")


# ---------------------------------------------------------------- cancel and pause


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.value)
def test_cancel_keeps_the_last_periodic_checkpoint_whole_and_a_new_run_resumes_it(family, tmp_path):
    out = tmp_path / "model.safetensors"
    ctx, _events = controlled(5, JobControl.cancel)
    with pytest.raises(JobCancelled):
        train(train_request(family, out, steps=10, every=3), tmp_path, ctx)
    assert model_meta(family, out)["steps"] == 3
    assert state_steps(state_path(out)) == 3
    assert not temp_files(tmp_path)
    outcome = train(train_request(family, out, steps=10, resume=state_path(out)), tmp_path)
    assert outcome.step == 10 and not outcome.stopped_early
    assert model_meta(family, out)["steps"] == 10 and state_steps(state_path(out)) == 10


def test_pause_then_resume_gives_what_an_unpaused_run_gives(tmp_path):
    plain = tmp_path / "plain.safetensors"
    with deterministic_cpu(SEED):
        train(train_request(Family.VAE, plain, steps=6), tmp_path)

    def pause_and_resume_soon(control: JobControl) -> None:
        control.pause()
        threading.Timer(0.2, control.resume).start()  # from another thread, as the GUI does

    paused = tmp_path / "paused.safetensors"
    ctx, events = controlled(3, pause_and_resume_soon)
    with deterministic_cpu(SEED):
        outcome = train(train_request(Family.VAE, paused, steps=6), tmp_path, ctx)
    assert outcome.step == 6 and not outcome.stopped_early
    kinds = [type(e) for e in events if isinstance(e, Paused | Resumed)]
    assert kinds == [Paused, Resumed]
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps == sorted(steps) and steps[-1] == 6
    assert_same_tensors(state_path(plain), state_path(paused))
    assert_same_tensors(plain, paused)


def test_a_paused_training_can_be_stopped_or_cancelled(tmp_path):
    stopped = tmp_path / "stopped.safetensors"

    def pause_then(action: Callable[[JobControl], None]):
        def act(control: JobControl) -> None:
            control.pause()
            threading.Timer(0.1, action, (control,)).start()

        return act

    ctx, _events = controlled(3, pause_then(JobControl.stop))
    outcome = train(train_request(Family.GAN, stopped, steps=10), tmp_path, ctx)
    assert outcome.stopped_early and outcome.step == 3
    assert state_steps(state_path(stopped)) == 3

    cancelled = tmp_path / "cancelled.safetensors"
    ctx, _events = controlled(3, pause_then(JobControl.cancel))
    with pytest.raises(JobCancelled):
        train(train_request(Family.GAN, cancelled, steps=10), tmp_path, ctx)
    assert not cancelled.exists()  # no checkpoint was due: nothing half-made is left
    assert not temp_files(tmp_path)


def test_state_files_record_their_family_and_preset(tmp_path):
    out = tmp_path / "model.safetensors"
    train(train_request(Family.GAN, out, steps=1), tmp_path)
    with safe_open(str(state_path(out)), framework="pt") as fh:
        record = json.loads(fh.metadata()[STATE_KEY])
    assert record["family"] == "gan" and record["preset"] == "digits"
