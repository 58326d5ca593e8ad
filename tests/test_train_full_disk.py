"""A disk that fills up during training: one sentence at the first ENOSPC, and what is on
disk is the last whole checkpoint (a model, its state no older than it), nothing
half-written.

The full disk is simulated without privileges at the boundary every checkpoint write
crosses: engine.atomic's temp file, which takes a byte budget and then fails as a full
disk does (the bytes that fitted are written, then ENOSPC).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from safetensors import safe_open

import engine.atomic as atomic
from engine.api.errors import UserFacingError
from engine.api.kinds import Family
from engine.api.parts import DatasetRef, Training
from engine.api.requests import TrainRequest
from engine.context import JobContext

STEPS, EVERY = 6, 2


class FullDisk:
    """os, except that files opened by engine.atomic hold `budget` bytes in all."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def __getattr__(self, name: str):
        return getattr(os, name)

    def fdopen(self, fd: int, mode: str):
        disk, file = self, os.fdopen(fd, mode)

        class Limited:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                file.close()

            def write(self, data: bytes) -> int:
                room = max(0, disk.budget)
                file.write(data[:room])
                disk.budget -= len(data)
                if disk.budget < 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return len(data)

            def __getattr__(self, name: str):
                return getattr(file, name)

        return Limited()


def train(out: Path, resume: Path | None = None, steps: int = STEPS):
    from engine.runtime import Runtime

    request = TrainRequest(
        family=Family.GAN,
        preset="digits",
        dataset=DatasetRef("digits"),
        training=Training(steps=steps, batch_size=4, seed=1, checkpoint_every=EVERY),
        output=str(out),
        resume_from=None if resume is None else str(resume),
    )
    runtime = Runtime(device_preference="cpu")
    try:
        return runtime.run(request, JobContext(1))
    finally:
        runtime.close()


def record(path: Path, key: str) -> dict:
    with safe_open(str(path), framework="pt") as fh:
        for name in fh.keys():  # noqa: SIM118 - every tensor is readable
            fh.get_tensor(name)
        return json.loads(fh.metadata()[key])


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> int:
    """What one checkpoint writes (state, model and its JSON), measured on a real run."""
    out = tmp_path_factory.mktemp("measure") / "gan.safetensors"
    train(out, steps=EVERY)
    return sum(p.stat().st_size for p in out.parent.iterdir())


def test_a_disk_full_from_the_start_is_one_sentence_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "os", FullDisk(0))
    with pytest.raises(UserFacingError) as raised:
        train(tmp_path / "gan.safetensors")
    message = raised.value.message
    assert "\n" not in message and "No space left on device" in message, message
    assert "nothing of it was kept" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("eighths", range(1, 8))
def test_a_disk_that_fills_later_keeps_a_resumable_checkpoint(
    tmp_path, monkeypatch, checkpoint_bytes, eighths
):
    """The disk fills somewhere inside the second checkpoint (state, model or JSON)."""
    out = tmp_path / "gan.safetensors"
    monkeypatch.setattr(atomic, "os", FullDisk(checkpoint_bytes * (8 + eighths) // 8))
    with pytest.raises(UserFacingError) as raised:
        train(out)
    assert "\n" not in raised.value.message and "No space left" in raised.value.message
    monkeypatch.undo()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["gan.json", "gan.safetensors", "gan.train.safetensors"], names
    model_step = record(out, "latentstudio")["meta"]["steps"]
    state_step = record(out.with_suffix(".train.safetensors"), "latentstudio-training")[
        "steps_done"
    ]
    assert state_step >= model_step >= EVERY
    assert f"step {model_step} is kept" in raised.value.message or state_step > model_step
    assert train(out, resume=out).step == STEPS  # and it continues


def test_a_model_in_a_folder_not_made_yet_gets_its_folder(tmp_path):
    out = tmp_path / "new" / "deeper" / "gan.safetensors"
    assert train(out, steps=EVERY).step == EVERY
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "gan.json",
        "gan.safetensors",
        "gan.train.safetensors",
    ]


def test_a_file_size_limit_in_a_real_process_is_one_error_line(tmp_path):
    """A real failing write, unprivileged: RLIMIT_FSIZE makes the kernel refuse (EFBIG)
    any write past 64 KiB, as a full disk refuses any write at all."""
    import resource
    import signal
    import subprocess
    import sys

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "main.py", "train", "--model", "gan", "--steps", "2", "--out", str(out)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=limited,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: Training stopped at step 2") and "nothing" in lines[0]
    assert [p.name for p in out.rglob("*") if p.is_file()] == []
