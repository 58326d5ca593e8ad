"""Training killed (SIGKILL) at random moments, half of them inside a checkpoint's writes:
after every kill the model, if there is one, has its training state beside it, no older
than it, and both read whole; the next training of that model resumes it and removes the
temp files the kills left."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

from safetensors import safe_open

KILLS = 20
MODEL_KEY, STATE_KEY = "latentstudio", "latentstudio-training"


def keep_training(out: str, ready, writing) -> None:
    """The victim: a GAN checkpointing at every step, continuing the model if there is
    one (as a user's Continue does), until it is killed."""
    import engine.atomic as atomic
    from engine.api.kinds import Family
    from engine.api.parts import DatasetRef, Training
    from engine.api.requests import TrainRequest
    from engine.context import JobContext
    from engine.runtime import Runtime

    real_create = atomic._create_temp

    def create_and_tell(path):
        writing.set()
        return real_create(path)

    atomic._create_temp = create_and_tell
    model = Path(out)
    request = TrainRequest(
        family=Family.GAN,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=10_000_000, batch_size=4, seed=1, checkpoint_every=1),
        output=out,
        resume_from=out if model.exists() else None,
    )
    runtime = Runtime(device_preference="cpu")
    ready.set()
    runtime.run(request, JobContext(1, previews=False))


def step_of(path: Path, key: str, field: str) -> int:
    """The step a file records, after reading every tensor of it (so: it is whole)."""
    with safe_open(str(path), framework="pt") as fh:
        for name in fh.keys():  # noqa: SIM118
            fh.get_tensor(name)
        record = json.loads(fh.metadata()[key])
    return int(record["meta"][field] if key == MODEL_KEY else record[field])


def broken_pair(model: Path) -> str | None:
    """What is wrong with the model and its state on disk, or None."""
    state = model.with_suffix(".train.safetensors")
    if not model.exists():
        return None
    if not state.exists():
        return "a model without its state"
    model_step = step_of(model, MODEL_KEY, "steps")
    state_step = step_of(state, STATE_KEY, "steps_done")
    if state_step < model_step:
        return f"the model at step {model_step}, its state at {state_step}"
    return None


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_kills_during_checkpoints_leave_a_resumable_pair(tmp_path):
    model = tmp_path / "gan.safetensors"
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "engine.runtime", "engine.models.gan.runners"])
    rng = random.Random(19)
    broken, temps_seen = [], 0
    for kill in range(KILLS):
        ready, writing = context.Event(), context.Event()
        victim = context.Process(target=keep_training, args=(str(model), ready, writing))
        victim.start()
        assert ready.wait(120)
        assert writing.wait(120)  # its first checkpoint has begun
        # Half in the first few checkpoints' writes, half anywhere in the next half second.
        time.sleep(rng.uniform(0.0, 0.02) if kill % 2 else rng.uniform(0.0, 0.5))
        os.kill(victim.pid, signal.SIGKILL)
        victim.join()
        temps_seen += bool(temp_files(tmp_path))
        if problem := broken_pair(model):
            broken.append(f"kill {kill}: {problem}")
    print(json.dumps({"kills": KILLS, "broken": len(broken), "temps_left": temps_seen}))
    assert not broken, broken
    assert model.exists()  # the victims got somewhere

    # The next start, left to finish: it resumes the pair and removes every temp file.
    state_step = step_of(model.with_suffix(".train.safetensors"), STATE_KEY, "steps_done")
    assert finish(model, state_step + 1) == state_step + 1
    assert temp_files(tmp_path) == []
    assert broken_pair(model) is None


def finish(model: Path, steps: int) -> int:
    from engine.api.kinds import Family
    from engine.api.parts import DatasetRef, Training
    from engine.api.requests import TrainRequest
    from engine.context import JobContext
    from engine.runtime import Runtime

    request = TrainRequest(
        family=Family.GAN,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, batch_size=4, seed=1, checkpoint_every=1),
        output=str(model),
        resume_from=str(model),
    )
    runtime = Runtime(device_preference="cpu")
    try:
        return runtime.run(request, JobContext(1, previews=False)).step
    finally:
        runtime.close()
