"""A training's full state in one safetensors file, so Stop and Resume lose nothing.

`<model>.train.safetensors` beside the model file holds the trained weights (not only the
averaged ones a model file keeps), every optimizer's moments, the random generators'
states and the step reached; its metadata holds the rest as JSON. Written atomically
with each checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

from engine.api import untrusted_json
from engine.api.errors import BadModelFile
from engine.api.families import title_of
from engine.api.kinds import Family
from engine.atomic import write_bytes_atomic

STATE_KEY = "latentstudio-training"


class RandomState(Protocol):
    """A torch.Generator, or anything else saved as one tensor (a data set's epoch order)."""

    def get_state(self) -> torch.Tensor: ...

    def set_state(self, new_state: torch.Tensor, /) -> Any: ...


def state_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".train.safetensors")


class TrainingState:
    """What a trainer registers: its modules, optimizers and random generators."""

    def __init__(self) -> None:
        self.modules: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.generators: dict[str, RandomState] = {}
        self.steps_done = 0

    def tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        record: dict[str, Any] = {"steps_done": self.steps_done, "optimizers": {}}
        for name, module in self.modules.items():
            for key, value in module.state_dict().items():
                tensors[f"module.{name}.{key}"] = value.detach().cpu().contiguous()
        for name, optimizer in self.optimizers.items():
            state = optimizer.state_dict()
            numbers: dict[str, dict[str, float]] = {}
            for index, slots in state["state"].items():
                for slot, value in slots.items():
                    if torch.is_tensor(value) and value.ndim > 0:
                        tensors[f"optim.{name}.{index}.{slot}"] = value.detach().cpu().contiguous()
                    else:
                        numbers.setdefault(str(index), {})[slot] = float(value)
            record["optimizers"][name] = {"numbers": numbers, "groups": state["param_groups"]}
        for name, generator in self.generators.items():
            tensors[f"rng.{name}"] = generator.get_state()
        return tensors, record

    def save(self, path: Path, extra: dict[str, Any]) -> None:
        tensors, record = self.tensors()
        header = {STATE_KEY: json.dumps({**record, **extra}, sort_keys=True)}
        write_bytes_atomic(path, safetensors_bytes(tensors, metadata=header))

    def load(self, path: Path, family: str = "") -> dict[str, Any]:
        """Restore everything from `path`; BadModelFile if it is not this training's state
        (of `family`, when given)."""
        if not Path(path).is_file():
            raise BadModelFile(
                f"The training state {path} does not exist. Check the path, or start a new "
                "training."
            )
        try:
            with safe_open(str(path), framework="pt", device="cpu") as fh:
                record = untrusted_json.loads((fh.metadata() or {})[STATE_KEY])
                tensors = {key: fh.get_tensor(key) for key in fh.keys()}  # noqa: SIM118
            if not isinstance(record, dict):
                raise ValueError("its record is not a JSON object")
        except (SafetensorError, OSError, KeyError, ValueError) as exc:
            raise BadModelFile(
                f"{Path(path).name} cannot be resumed from: it is not a Latent Studio training "
                f"state, or it is damaged ({exc}). Start a new training instead."
            ) from exc
        _check_family(Path(path), record.get("family"), family)
        try:
            self._restore(tensors, record)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise BadModelFile(
                f"{Path(path).name} belongs to another model, of another size or data set "
                f"(made with the {record.get('preset', 'unknown')} preset), so this training "
                "cannot continue from it. Resume it with the settings it was made with, or "
                "start a new training."
            ) from exc
        return record

    def _restore(self, tensors: dict[str, torch.Tensor], record: dict[str, Any]) -> None:
        for name, module in self.modules.items():
            prefix = f"module.{name}."
            module.load_state_dict(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)},
                strict=True,
            )
        for name, optimizer in self.optimizers.items():
            saved = record["optimizers"][name]
            state: dict[int, dict[str, Any]] = {}
            for key, value in tensors.items():
                if key.startswith(f"optim.{name}."):
                    index, slot = key[len(f"optim.{name}.") :].split(".", 1)
                    state.setdefault(int(index), {})[slot] = value
            for index, numbers in saved["numbers"].items():
                for slot, value in numbers.items():
                    state.setdefault(int(index), {})[slot] = torch.tensor(value)
            optimizer.load_state_dict({"state": state, "param_groups": saved["groups"]})
        for name, generator in self.generators.items():
            if f"rng.{name}" in tensors:  # states of older versions lack the shapes' one
                generator.set_state(tensors[f"rng.{name}"])
        self.steps_done = int(record["steps_done"])


def _check_family(path: Path, saved: str | None, wanted: str) -> None:
    """A family's weights cannot continue another's: say so plainly, before restoring."""
    if not wanted or saved in (None, wanted):
        return
    try:
        theirs = title_of(Family(saved))
    except ValueError:
        theirs = str(saved)
    ours = title_of(Family(wanted))
    raise BadModelFile(
        f"{path.name} is the training state of another model, a {theirs}: a {ours} training "
        f"cannot continue from it. Choose a {ours} checkpoint, or start a new training."
    )
