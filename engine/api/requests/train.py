"""Training a classic model on a data set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from engine.api import families
from engine.api.catalogue import DATASET_TITLES
from engine.api.errors import BadInput
from engine.api.families import title_of
from engine.api.kinds import Family, Lane, Task
from engine.api.model_names import check_model_name
from engine.api.outcomes import (
    ModelOutcome,
    Outcome,
)
from engine.api.parts import (
    DatasetRef,
    Training,
)
from engine.api.requests.base import Request
from engine.api.serialize import optional_part
from engine.api.train_settings import check_names


@dataclass(frozen=True, kw_only=True)
class TrainRequest(Request):
    """Train a classic model on a data set; the result is a model file."""

    task: ClassVar[Task] = Task.TRAIN
    lane: ClassVar[Lane] = Lane.TRAIN
    outcome: ClassVar[type[Outcome]] = ModelOutcome

    family: Family  # type: ignore[misc]
    preset: str  # the network's shape and default hyper-parameters
    dataset: DatasetRef
    training: Training = field(default_factory=Training)
    output: str  # the .safetensors file to write (its .json goes beside it)
    image_size: int = 0  # 0: the data set's own size
    resume_from: str | None = None  # a .train.safetensors state to continue from
    # The family's own settings over its preset's, by name, as written: (("rank", "8"),)
    settings: tuple[tuple[str, str], ...] = ()
    # One run of the Train tab's sweep: a window connected to a cluster may train it on a
    # worker (engine.cluster.request_files.runs_remotely); a single training stays here,
    # where it is watched live. Written only when set, so other recipes are unchanged.
    sweep_run: bool = optional_part(False)

    def check(self) -> None:
        if not families.supports(families.spec_of(self.family).family, Task.TRAIN):
            able = families.titles(families.trainable_families())
            raise BadInput(f"{title_of(self.family)} models cannot be trained here; {able} can.")
        self.training.check()
        offered = families.train_setting_names(self.family)
        check_names(self.settings, offered, title_of(self.family))
        if self.image_size not in (0, 8, 16, 32, 64):
            raise BadInput(f"Train on images of 16, 32 or 64 pixels, not {self.image_size}.")
        if not self.output.endswith(".safetensors"):
            raise BadInput(f"Trained models are saved as .safetensors files, not {self.output}.")
        check_model_name(Path(self.output).name.removesuffix(".safetensors"))

    def describe(self) -> str:
        """The queue's line: a folder by its name (its path is the Train tab's data box's
        tooltip and the model record's `source`), and the family's settings first: a
        sweep's runs differ there, and a narrow column still shows them."""
        data = self.dataset.name
        data = data if data in DATASET_TITLES else Path(data).name or data
        return (
            f"train {title_of(self.family)} on {data}"
            + "".join(f" · {name} {value}" for name, value in self.settings)
            + f" · {self.training.steps or 'preset'} steps · seed {self.training.seed}"
        )
