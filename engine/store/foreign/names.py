"""Other tools' sampler and schedule names, in A1111's words (engine.api.samplers).

Each table is data: the tool's name for an algorithm -> A1111's. A schedule of "karras"
turns "DPM++ 2M" into "DPM++ 2M Karras" where A1111 has that name. A name no table
knows is kept as the tool wrote it, with a note, never guessed.
"""

from __future__ import annotations

from engine.api.samplers import SAMPLER_NAMES

# A1111 names beyond the ones Latent Studio draws with: still A1111's, so a note says
# "not one Latent Studio has" rather than "unknown".
A1111_ONLY = ("DPM++ 2S a", "DPM++ 3M SDE", "DPM fast", "DPM adaptive", "DEIS")

# ComfyUI's KSampler sampler_name (comfy/samplers.py KSAMPLER_NAMES); also Fooocus's and
# SwarmUI's, which use ComfyUI's names.
COMFY = {
    "euler": "Euler",
    "euler_ancestral": "Euler a",
    "heun": "Heun",
    "dpm_2": "DPM2",
    "dpm_2_ancestral": "DPM2 a",
    "lms": "LMS",
    "dpm_fast": "DPM fast",
    "dpm_adaptive": "DPM adaptive",
    "dpmpp_2s_ancestral": "DPM++ 2S a",
    "dpmpp_sde": "DPM++ SDE",
    "dpmpp_sde_gpu": "DPM++ SDE",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "dpmpp_2m_sde_gpu": "DPM++ 2M SDE",
    "dpmpp_3m_sde": "DPM++ 3M SDE",
    "dpmpp_3m_sde_gpu": "DPM++ 3M SDE",
    "ddim": "DDIM",
    "uni_pc": "UniPC",
    "uni_pc_bh2": "UniPC",
    "lcm": "LCM",
}

# InvokeAI's `scheduler` (invokeai/backend/stable_diffusion/schedulers): "_k" is Karras.
INVOKE = {
    "ddim": "DDIM",
    "ddpm": "DDPM",
    "deis": "DEIS",
    "lms": "LMS",
    "pndm": "PLMS",
    "heun": "Heun",
    "euler": "Euler",
    "euler_a": "Euler a",
    "kdpm_2": "DPM2",
    "kdpm_2_a": "DPM2 a",
    "dpmpp_2s": "DPM++ 2S a",
    "dpmpp_sde": "DPM++ SDE",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "unipc": "UniPC",
    "lcm": "LCM",
    "tcd": "TCD",
}

# NovelAI's `sampler` (its API's names).
NOVELAI = {
    "k_euler": "Euler",
    "k_euler_ancestral": "Euler a",
    "k_dpmpp_2m": "DPM++ 2M",
    "k_dpmpp_2s_ancestral": "DPM++ 2S a",
    "k_dpmpp_sde": "DPM++ SDE",
    "k_dpmpp_2m_sde": "DPM++ 2M SDE",
    "k_dpm_2": "DPM2",
    "k_dpm_2_ancestral": "DPM2 a",
    "k_heun": "Heun",
    "k_lms": "LMS",
    "ddim": "DDIM",
    "ddim_v3": "DDIM",
}

KNOWN = {name.lower(): name for name in (*SAMPLER_NAMES, *A1111_ONLY)}


def sampler_name(table: dict[str, str], name: str, schedule: str, notes: list[str]) -> str | None:
    """A1111's name for the tool's `name` under `schedule` ("karras", "normal", ...);
    a name outside `table` (and not already A1111's) is kept as written, with a note."""
    base = table.get(name) or KNOWN.get(name.strip().lower())
    if base is None:
        notes.append(f"The sampler {name!r} has no A1111 name: kept as written.")
        return name or None
    if schedule.strip().lower() == "karras" and f"{base} Karras" in KNOWN.values():
        return f"{base} Karras"
    if base not in SAMPLER_NAMES:
        notes.append(f"The sampler {base!r} is not one Latent Studio has.")
    return base


def invoke_sampler(name: str, notes: list[str]) -> str | None:
    karras = name.endswith("_k")
    return sampler_name(INVOKE, name[:-2] if karras else name, "karras" if karras else "", notes)
