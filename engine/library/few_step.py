"""Few-step models and LoRAs (LCM, TCD, Turbo, Lightning, Hyper-SD), recognised from data.

Each kind is a row of FEW_STEP_KINDS: what marks a file as that kind (words in its
name, values of its metadata, tensor names), and the settings its model card suggests.
`recognise` reads the rows in order and returns the first that matches; nothing here
branches on a kind's name, so a new kind is a new row.

The suggested settings are the model cards' (Hugging Face, December 2026):
- latent-consistency/lcm-lora-sdv1-5 and -sdxl: LCMScheduler, 4 to 8 steps, guidance 1
  to 2 (A1111: sampler "LCM").
- h1t/TCD-SD15 and TCD-SDXL LoRAs: TCDScheduler, 4 steps, guidance 0, eta (gamma) 0.3.
- stabilityai/sd-turbo and sdxl-turbo: 1 to 4 steps, guidance 0, their scheduler config
  Euler ancestral with "trailing" spacing.
- ByteDance/SDXL-Lightning: Euler with "trailing" spacing, guidance 0, the step count the
  file is named for (2, 4 or 8).
- ByteDance/Hyper-SD: "trailing" DDIM (TCD for the 1-step LoRA), guidance 0 for the
  plain LoRAs and 5 to 8 for the "CFG" ones, the step count the file is named for.
A guidance of 0 and of 1 both turn classifier-free guidance off in diffusers (it runs
only above 1); the app's CFG scale goes to diffusers unchanged, so 1 is suggested, as
A1111 users set it. Plain Python, no torch: the GUI asks it when a model is chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from engine.library.header import CheckpointHeader

# The metadata values a kind's words are looked for in: the Stability model spec's and
# kohya's sd-scripts' names of the model, and what it says of itself.
TEXT_KEYS = (
    "modelspec.title",
    "modelspec.architecture",
    "modelspec.description",
    "ss_output_name",
)


@dataclass(frozen=True)
class Suggested:
    """Sampling settings as the request takes them (engine.api.parts.Sampling)."""

    sampler: str
    steps: int
    cfg_scale: float
    spacing: str = ""  # diffusers' timestep_spacing; "" keeps the model's


@dataclass(frozen=True)
class FewStepKind:
    name: str  # "LCM", "Hyper-SD"
    words: str  # a regular expression, case-insensitive, on the file name and TEXT_KEYS
    suggested: Suggested
    note: str  # one sentence the GUI shows under the model picker
    # (metadata key, regular expression on its value): any one marks the kind.
    metadata: tuple[tuple[str, str], ...] = ()
    keys: tuple[str, ...] = ()  # tensor-name fragments that all mark the kind
    # A regex group named "steps" in `words` sets the steps from the name; these are the
    # step counts the kind was distilled for, a CFG variant's marker aside.
    step_choices: tuple[int, ...] = ()
    # (steps, sampler, spacing) where a step count takes another sampler than the row's.
    by_steps: tuple[tuple[int, str, str], ...] = ()
    cfg_words: str = ""  # a name matching this too takes cfg_with_guidance
    cfg_with_guidance: float = 0.0


@dataclass(frozen=True)
class FewStepMatch:
    kind: FewStepKind
    suggested: Suggested
    evidence: str  # "its file name", "its modelspec.title"

    @property
    def note(self) -> str:
        s = self.suggested
        spacing = f", {s.spacing} timesteps" if s.spacing else ""
        return (
            f"{self.kind.name} ({self.evidence}): {self.kind.note} Suggested: {s.sampler}, "
            f"{s.steps} step{'' if s.steps == 1 else 's'}, CFG {s.cfg_scale:g}{spacing}."
        )


_STEPS = r"[-_ ]?(?P<steps>\d{1,2})[-_ ]?steps?"

FEW_STEP_KINDS: tuple[FewStepKind, ...] = (
    FewStepKind(
        "Hyper-SD",
        r"hyper[-_ ]?sd(?:xl|15)?(?:.*?" + _STEPS + ")?",
        Suggested("DDIM", 8, 1.0, "trailing"),
        "a Hyper-SD model, distilled for few steps with trailing timesteps.",
        step_choices=(1, 2, 4, 8, 12),
        by_steps=((1, "TCD", ""),),  # the 1-step LoRA's card uses TCDScheduler
        cfg_words=r"cfg",
        cfg_with_guidance=6.0,
    ),
    FewStepKind(
        "SDXL-Lightning",
        r"lightning(?:.*?" + _STEPS + ")?",
        Suggested("Euler", 4, 1.0, "trailing"),
        "an SDXL-Lightning model: Euler with trailing timesteps and no guidance.",
        step_choices=(2, 4, 8),
    ),
    FewStepKind(
        "TCD",
        r"(?<![a-z])tcd(?![a-z])",
        Suggested("TCD", 4, 1.0),
        "a Trajectory Consistency Distillation LoRA, made for the TCD sampler.",
    ),
    FewStepKind(
        "LCM",
        r"(?<![a-z])lcm|latent[-_ ]?consistency",
        Suggested("LCM", 6, 1.5),
        "a Latent Consistency model, made for the LCM sampler and low guidance.",
    ),
    FewStepKind(
        "Turbo",
        r"turbo",
        Suggested("Euler a", 4, 1.0, "trailing"),
        "a Turbo (adversarial diffusion distillation) model: 1 to 4 steps, no guidance.",
        metadata=(("modelspec.architecture", r"turbo"),),
    ),
)


def recognise(
    name: str,
    metadata: Mapping[str, str] | None = None,
    keys: Iterable[str] = (),
    kinds: tuple[FewStepKind, ...] = FEW_STEP_KINDS,
) -> FewStepMatch | None:
    """The first kind that a file's metadata, tensor names or name marks; None for none.

    Metadata is read first: it is what the file says of itself; a file name is what the
    user or the download site called it.
    """
    metadata = metadata or {}
    joined = "\n".join(keys)
    for kind in kinds:
        evidence = _evidence(kind, name, metadata, joined)
        if evidence is not None:
            where, text = evidence
            return FewStepMatch(kind, _suggested(kind, text), where)
    return None


def recognise_header(header: CheckpointHeader) -> FewStepMatch | None:
    return recognise(header.path.name, header.metadata, header.names)


def _evidence(
    kind: FewStepKind, name: str, metadata: Mapping[str, str], joined: str
) -> tuple[str, str] | None:
    """(what marked the file, the text to read the steps from) or None."""
    for key, pattern in kind.metadata:
        if re.search(pattern, str(metadata.get(key, "")), re.IGNORECASE):
            return f"its {key}", str(metadata[key])
    for key in TEXT_KEYS:
        value = str(metadata.get(key, ""))
        if re.search(kind.words, value, re.IGNORECASE):
            return f"its {key}", value
    if kind.keys and all(fragment in joined for fragment in kind.keys):
        return "its tensor names", name
    stem = Path(name).stem
    if re.search(kind.words, stem, re.IGNORECASE):
        return "its file name", stem
    return None


def _suggested(kind: FewStepKind, text: str) -> Suggested:
    suggested = kind.suggested
    found = re.search(kind.words, text, re.IGNORECASE)
    steps = found.groupdict().get("steps") if found else None
    if steps and int(steps) in kind.step_choices:
        suggested = replace(suggested, steps=int(steps))
        for count, sampler, spacing in kind.by_steps:
            if count == suggested.steps:
                suggested = replace(suggested, sampler=sampler, spacing=spacing)
    if kind.cfg_words and re.search(kind.cfg_words, text, re.IGNORECASE):
        suggested = replace(suggested, cfg_scale=kind.cfg_with_guidance)
    return suggested
