"""A Lab sweep: one numeric training setting over a range, each value one training run.

`--sweep components=2-6 (+2)` on the command line, the Sweep row of the Train tab: the
range is read as an X/Y/Z plot's axis (engine.api.xyz_ranges: `1-5`, `1-10 (+3)`,
`0.5-1.5 [5]`, comma lists). What may be swept is read from the family's spec as data:
the steps and the seed of every family, the batch size and learning rate of those that
train in batches, and every int or float field of its declared settings class (a GMM's
components, rank, reg_covar). Torch-free: the GUI counts a sweep's runs as it is typed.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, replace
from pathlib import Path

from engine.api import limits
from engine.api.errors import BadInput
from engine.api.families import spec_of
from engine.api.requests import TrainRequest
from engine.api.train_settings import with_settings
from engine.api.xyz_ranges import float_values, int_values

Number = int | float

# The settings every family's Training has: (type, its limit, the Training field).
GENERIC: dict[str, tuple[type, limits.Limit, str]] = {
    "steps": (int, limits.TRAIN_STEPS, "steps"),
    "batch": (int, limits.TRAIN_BATCH, "batch_size"),
    "lr": (float, limits.LEARNING_RATE, "learning_rate"),
    "seed": (int, limits.SEED, "seed"),
}
BATCHED_ONLY = ("batch", "lr")  # meaningless for EM (a GMM), which sees every image


@dataclass(frozen=True)
class Sweep:
    name: str  # the setting swept ("components", "lr")
    values: tuple[Number, ...]

    @property
    def words(self) -> tuple[str, ...]:
        """Each value as a file name and a table show it."""
        return tuple(value_word(v) for v in self.values)


def sweep_names(family: str) -> tuple[str, ...]:
    """The settings a sweep of `family` may vary, generic ones first."""
    spec = spec_of(family)
    generic = [n for n in GENERIC if spec.batched or n not in BATCHED_ONLY]
    return (*generic, *_own_numbers(spec.train_settings))


def _own_numbers(cls: type | None) -> tuple[str, ...]:
    if cls is None:
        return ()
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] in (int, float))


def _kind(family: str, name: str) -> type:
    if name in GENERIC:
        return GENERIC[name][0]
    return typing.get_type_hints(spec_of(family).train_settings)[name]


def split_sweep(word: str) -> tuple[str, str]:
    """ "components=2-6" to ("components", "2-6")."""
    name, equals, text = word.partition("=")
    if not equals or not name.strip() or not text.strip():
        raise BadInput(
            f"A sweep is written NAME=RANGE (as components=2-6 or lr=0.001,0.003), not {word!r}."
        )
    return name.strip(), text.strip()


def read_sweep(family: str, name: str, text: str) -> Sweep:
    """The sweep's values, each checked as a single training would check it; BadInput
    with a sentence for an unknown or non-numeric setting, a bad range, a value out of
    its range, or two values that would name the same file."""
    names = sweep_names(family)
    if name not in names:
        title = spec_of(family).title
        raise BadInput(
            f"A {title} sweep varies one of its numeric training settings: "
            f"{', '.join(names)}; {name!r} is not one of them."
        )
    axis = f"The sweep of {name}"
    values = int_values(text, axis) if _kind(family, name) is int else float_values(text, axis)
    for value in values:
        _check(family, name, value)
    sweep = Sweep(name, tuple(values))
    if len(set(sweep.words)) < len(values):
        seen = [w for i, w in enumerate(sweep.words) if w in sweep.words[:i]]
        raise BadInput(f"{axis} gives {name} {seen[0]} twice; give each value once.")
    return sweep


def _check(family: str, name: str, value: Number) -> None:
    if name in GENERIC:
        GENERIC[name][1].check(value)
        return
    cls = spec_of(family).train_settings
    with_settings(cls(), ((name, exact_word(value)),))  # its own range check


def value_word(value: Number) -> str:
    """2 → "2"; 0.001 → "0.001"; 1e-05 → "1e-05" (six significant digits)."""
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def exact_word(value: Number) -> str:
    """The value as a setting's word that reads back as the very same number."""
    return str(value) if isinstance(value, int) else repr(float(value))


def run_name(base: str, name: str, value: Number) -> str:
    """A run's model name: the sweep's base, the setting and its value."""
    return f"{base}-{name}-{value_word(value)}"


def swept_request(
    request: TrainRequest, name: str, value: Number, folder: Path, base: str
) -> TrainRequest:
    """`request` with `name` set to `value`, saved as run_name(...) in `folder`."""
    output = str(Path(folder) / f"{run_name(base, name, value)}.safetensors")
    if name in GENERIC:
        training = replace(request.training, **{GENERIC[name][2]: value})
        return replace(request, training=training, output=output)
    others = tuple(pair for pair in request.settings if pair[0] != name)
    return replace(request, settings=(*others, (name, exact_word(value))), output=output)


def sweep_requests(
    request: TrainRequest, sweep: Sweep, folder: Path, base: str
) -> list[TrainRequest]:
    """One training request per value, in the sweep's order."""
    return [swept_request(request, sweep.name, v, folder, base) for v in sweep.values]
