"""One training job, for any family: resume, checkpoints, the loop, the outcome.

A family's trainer brings its networks and one `step()`; this module does the rest the
same way for all of them: the model file and the full training state are written at
every checkpoint (atomically, so a cancel or a crash leaves the last one whole), Stop
writes them at the step reached, and `resume_from` continues from a state file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from engine.api.errors import BadModelFile, UserFacingError
from engine.api.kinds import ErrorKind
from engine.api.outcomes import ModelOutcome
from engine.api.parts import Training
from engine.api.requests import TrainRequest
from engine.atomic import remove_stale_temps
from engine.context import JobContext
from engine.models.common.modelfile import sidecar_path
from engine.train.loop import run_training
from engine.train.state import TrainingState, state_path

S = TypeVar("S")


class FamilyTrainer(Protocol):
    batch_size: int
    state: TrainingState

    def step(self) -> dict[str, float]: ...

    def samples(self) -> list[np.ndarray]: ...

    def save_model(self, path: Path, meta: dict[str, Any]) -> None:
        """Write the model file that sampling loads."""


def resolve(training: Training, steps: int, settings: S) -> tuple[int, S]:
    """The request's steps, batch size and learning rate, or the preset's where it says 0."""
    changes = {}
    if training.batch_size:
        changes["batch_size"] = training.batch_size
    if training.learning_rate:
        changes["learning_rate"] = training.learning_rate
    return training.steps or steps, replace(settings, **changes)


def run_train_job(
    request: TrainRequest, ctx: JobContext, trainer: FamilyTrainer, meta: dict[str, Any], steps: int
) -> ModelOutcome:
    output = Path(request.output)
    start = 0
    if request.resume_from:
        trainer.state.load(resume_state(Path(request.resume_from)), request.family.value)
        start = trainer.state.steps_done
        meta = {**meta, "resumed_from": str(request.resume_from)}

    # The steps the run was asked for, beside those done: a model stopped at 276 of 8,000
    # continues towards 8,000 (Continue training's default), not 276 + some guess.
    meta = {**meta, "steps_planned": steps}
    saved = start or None  # the step of the last checkpoint written whole

    def checkpoint(step: int, losses: dict[str, float]) -> None:
        nonlocal saved
        trainer.state.steps_done = step
        try:
            output.parent.mkdir(parents=True, exist_ok=True)  # the model's did it before
            # The state first: a kill between the two leaves a state ahead of its model,
            # which resumes from the state's step; never a model without its state, or a
            # model ahead of its state (resuming it would silently go back).
            trainer.state.save(
                state_path(output), {"family": request.family.value, "preset": request.preset}
            )
            trainer.save_model(output, {**meta, "steps": step, "final_losses": losses})
        except OSError as exc:  # a full disk, a folder gone: stop with a sentence
            if saved is None:  # no model of this training: leave no state without one
                state_path(output).unlink(missing_ok=True)
            raise CheckpointNotWritten.of(step, output, exc, saved) from exc
        saved = step

    for path in (output, sidecar_path(output), state_path(output)):
        remove_stale_temps(path)  # left by a training killed while writing a checkpoint
    ctx.phase = "training"
    result = run_training(trainer, steps, ctx, checkpoint, request.training.checkpoint_every, start)
    return ModelOutcome(str(output), result.step, result.metrics, result.stopped_early)


class CheckpointNotWritten(UserFacingError):
    """A checkpoint could not be written (a full disk…); the last whole one is kept."""

    kind = ErrorKind.BAD_INPUT  # the cure is the user's: free space, or another folder

    @classmethod
    def of(cls, step: int, output: Path, exc: OSError, saved: int | None) -> CheckpointNotWritten:
        why = exc.strerror or str(exc)
        kept = (
            f"the checkpoint of step {saved} is kept and can be continued"
            if saved
            else "nothing of it was kept"
        )
        return cls(
            f"Training stopped at step {step}: its checkpoint could not be written in "
            f"{output.parent} ({why}); {kept}. Free some space there, or choose another "
            "folder, and train again."
        )


def resume_state(path: Path) -> Path:
    """The training state to continue: `path` itself, or the state beside a model file
    (what a user picks)."""
    if path.name.endswith(".train.safetensors"):
        return path
    beside = state_path(path)
    if beside.is_file():
        return beside
    raise BadModelFile(
        f"{path.name} has no training state beside it ({beside.name}), so it cannot be "
        "continued: only a model this app trained, stopped or finished, can. Start a new "
        "training instead."
    )
