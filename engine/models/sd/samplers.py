"""A1111 sampler names, mapped to diffusers schedulers.

The mapping is the table in diffusers' documentation, "Schedulers" overview,
docs/source/en/api/schedulers/overview.md ("A1111/k-diffusion -> Diffusers"). DDIM, PLMS
and UniPC are A1111 samplers too; they map to the diffusers classes of the same algorithm.

The names themselves (engine.api.samplers.SAMPLER_NAMES) are request vocabulary the GUI offers;
this module maps each to a scheduler and stays cheap to import: diffusers is imported
only inside make_scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.api.errors import BadInput
from engine.api.samplers import SAMPLER_NAMES


@dataclass(frozen=True)
class SamplerSpec:
    scheduler_class: str  # a name exported by `diffusers`
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # The scheduler's `eta` for the pipeline call, where the algorithm wants one other
    # than the pipeline's 0: TCD's gamma, 0.3 in its model cards and TCDScheduler.step.
    eta: float | None = None


# Every k-diffusion style entry states its sigma schedule and algorithm explicitly: a model
# may ship e.g. a Karras DPM++ config, and "DPM++ 2M" must not inherit Karras from it.
_NO_OTHER_SIGMAS = {"use_exponential_sigmas": False, "use_beta_sigmas": False}
_PLAIN = {"use_karras_sigmas": False, **_NO_OTHER_SIGMAS}
_KARRAS = {"use_karras_sigmas": True, **_NO_OTHER_SIGMAS}
_DPM_2M = {"algorithm_type": "dpmsolver++"}
_DPM_2M_SDE = {"algorithm_type": "sde-dpmsolver++"}

# In the order of engine.api.samplers.SAMPLER_NAMES (tests/test_sd.py checks the set).
SAMPLERS: dict[str, SamplerSpec] = {
    "Euler": SamplerSpec("EulerDiscreteScheduler", _PLAIN),
    "Euler a": SamplerSpec("EulerAncestralDiscreteScheduler"),
    "DPM++ 2M": SamplerSpec("DPMSolverMultistepScheduler", {**_DPM_2M, **_PLAIN}),
    "DPM++ 2M Karras": SamplerSpec("DPMSolverMultistepScheduler", {**_DPM_2M, **_KARRAS}),
    "DDIM": SamplerSpec("DDIMScheduler"),
    "UniPC": SamplerSpec("UniPCMultistepScheduler", _PLAIN),
    "DPM++ 2M SDE": SamplerSpec("DPMSolverMultistepScheduler", {**_DPM_2M_SDE, **_PLAIN}),
    "DPM++ 2M SDE Karras": SamplerSpec("DPMSolverMultistepScheduler", {**_DPM_2M_SDE, **_KARRAS}),
    "DPM++ SDE": SamplerSpec("DPMSolverSinglestepScheduler", _PLAIN),
    "DPM++ SDE Karras": SamplerSpec("DPMSolverSinglestepScheduler", _KARRAS),
    "DPM2": SamplerSpec("KDPM2DiscreteScheduler", _PLAIN),
    "DPM2 Karras": SamplerSpec("KDPM2DiscreteScheduler", _KARRAS),
    "DPM2 a": SamplerSpec("KDPM2AncestralDiscreteScheduler", _PLAIN),
    "DPM2 a Karras": SamplerSpec("KDPM2AncestralDiscreteScheduler", _KARRAS),
    "Heun": SamplerSpec("HeunDiscreteScheduler", _PLAIN),
    "LMS": SamplerSpec("LMSDiscreteScheduler", _PLAIN),
    "LMS Karras": SamplerSpec("LMSDiscreteScheduler", _KARRAS),
    "PLMS": SamplerSpec("PNDMScheduler", {"skip_prk_steps": True}),
    # LCM and TCD pick their own timesteps from `original_inference_steps` (50) and
    # ignore timestep_spacing; the model's training schedule stays.
    "LCM": SamplerSpec("LCMScheduler"),
    "TCD": SamplerSpec("TCDScheduler", eta=0.3),
}


def sampler_spec(name: str) -> SamplerSpec:
    if name not in SAMPLER_NAMES:
        valid = ", ".join(SAMPLER_NAMES)
        raise BadInput(f"Unknown sampler {name!r}. Choose one of: {valid}.")
    return SAMPLERS[name]


def make_scheduler(name: str, base_config: Mapping[str, Any], spacing: str = "") -> Any:
    """A fresh scheduler for A1111 sampler `name`, from a model's own scheduler config.

    `base_config` keeps the model's training schedule (betas, prediction type, offsets);
    the sampler only chooses the solver. `spacing` ("" keeps the model's) is diffusers'
    timestep_spacing: "trailing" for Turbo, Lightning and Hyper models.
    """
    spec = sampler_spec(name)
    import diffusers  # lazy: see the module docstring

    cls = getattr(diffusers, spec.scheduler_class)
    return cls.from_config(base_config, **spec.overrides, **spacing_override(spacing))


def spacing_override(spacing: str) -> dict[str, Any]:
    return {"timestep_spacing": spacing} if spacing else {}


def call_eta(name: str | None) -> dict[str, Any]:
    """The pipeline call's `eta` for sampler `name`, where it has one of its own."""
    spec = SAMPLERS.get(name or "")
    return {"eta": spec.eta} if spec is not None and spec.eta is not None else {}
