"""A1111's "Schedule type" (1.9 and later), written and read.

A1111 1.9 split the schedule out of the sampler's name: "DPM++ 2M Karras" became
"Sampler: DPM++ 2M, Schedule type: Karras". Its labels are those of
modules/sd_schedulers.py (`Scheduler(name, label, …)`), copied here as data. Latent
Studio's own names keep the older joined form ("DPM++ 2M Karras", engine.api.samplers),
and its timestep spacing is what two of A1111's schedules are:

- "SGM Uniform" takes n timesteps from the last training one down, not reaching 0:
  diffusers' "trailing" spacing (the Turbo / Lightning / Hyper models' schedule);
- "Uniform" spreads them evenly from the last to the first, both ends included:
  diffusers' "linspace".
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api.samplers import SAMPLER_NAMES

# (name, label, aliases) as in A1111's modules/sd_schedulers.py `schedulers`.
A1111_SCHEDULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("automatic", "Automatic", ()),
    ("uniform", "Uniform", ()),
    ("karras", "Karras", ()),
    ("exponential", "Exponential", ()),
    ("polyexponential", "Polyexponential", ()),
    ("sgm_uniform", "SGM Uniform", ("SGMUniform",)),
    ("kl_optimal", "KL Optimal", ()),
    ("align_your_steps", "Align Your Steps", ()),
    ("simple", "Simple", ()),
    ("normal", "Normal", ()),
    ("ddim", "DDIM", ()),
    ("beta", "Beta", ()),
)
AUTOMATIC, KARRAS, SGM_UNIFORM, UNIFORM = "Automatic", "Karras", "SGM Uniform", "Uniform"
SCHEDULE_OF_SPACING = {"trailing": SGM_UNIFORM, "linspace": UNIFORM}
SPACING_OF_SCHEDULE = {label: spacing for spacing, label in SCHEDULE_OF_SPACING.items()}
_LABELS = {
    spelling.lower(): label
    for name, label, aliases in A1111_SCHEDULES
    for spelling in (name, label, *aliases)
}


def schedule_label(text: str) -> str:
    """A1111's label for any of its spellings (name, label, alias; any case), else ""."""
    return _LABELS.get(text.strip().lower(), "")


def a1111_sampler_and_schedule(sampler: str, spacing: str = "") -> tuple[str, str | None]:
    """What A1111 1.9+ writes for one of our samplers and spacings: ("DPM++ 2M Karras",
    "") → ("DPM++ 2M", "Karras"); trailing spacing → "SGM Uniform". None: no schedule
    line (the sampler's own schedule; older text without the key reads the same)."""
    if sampler.endswith(" " + KARRAS):
        return sampler.removesuffix(" " + KARRAS), KARRAS
    return sampler, SCHEDULE_OF_SPACING.get(spacing)


@dataclass(frozen=True)
class ReadSchedule:
    sampler: str | None  # one of SAMPLER_NAMES, or None: the model's own
    spacing: str = ""  # engine.api.samplers.SPACINGS
    note: str = ""  # what could not be used, in a sentence; "" when all was


def read_sampler_and_schedule(sampler: str, schedule: str = "") -> ReadSchedule:
    """Our sampler and spacing from A1111's "Sampler" and "Schedule type" (either in the
    name, as before 1.9: "DPM++ 2M Karras", "Euler SGM Uniform")."""
    name, schedule = _split_name(sampler.strip(), schedule.strip())
    label = schedule_label(schedule) if schedule else AUTOMATIC
    spacing = SPACING_OF_SCHEDULE.get(label, "")
    joined = f"{name} {KARRAS}" if label == KARRAS else name
    found = next((n for n in (joined, name) if n in SAMPLER_NAMES), None)
    notes = []
    if name and found is None:
        notes.append(f"The sampler {name!r} is not one Latent Studio has: the model's own is used.")
    ours = spacing or label == AUTOMATIC or (label == KARRAS and found == joined)
    if found is not None and not ours:
        notes.append(
            f"The schedule type {schedule!r} is not one Latent Studio has for this sampler: "
            "the sampler's own schedule is used."
        )
    return ReadSchedule(found, spacing, " ".join(notes))


def _split_name(sampler: str, schedule: str) -> tuple[str, str]:
    """A schedule written in the sampler's name (A1111 before 1.9) taken out of it, as
    A1111's own get_sampler_and_scheduler does; a "Schedule type" key wins."""
    if sampler in SAMPLER_NAMES and not sampler.endswith(" " + KARRAS):
        return sampler, schedule
    for spelling in sorted(_LABELS, key=len, reverse=True):
        if sampler.lower().endswith(" " + spelling):
            return sampler[: -len(spelling) - 1], schedule or spelling
    return sampler, schedule
