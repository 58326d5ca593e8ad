"""A ForeignRead in the words of engine.store.a1111.parse_parameters, so "Use these
parameters" builds its request through engine.api.a1111_request.request_from_parameters
for every tool: the same sampler check, and the same `missing` ("source image" for a
denoising strength) instead of a guess.

Only the mapped fields travel: a picture with A1111 text of its own is better served by
ImageMetadata.from_parameters, which also reads its hires, inpaint and control keys.
LoRAs are not prompt text in most tools, so they stay in ForeignRead.loras for the
caller to resolve against its folders.
"""

from __future__ import annotations

from typing import Any

from engine.api.schedule_types import SPACING_OF_SCHEDULE, schedule_label
from engine.store.foreign.result import ForeignRead


def a1111_params(read: ForeignRead) -> dict[str, Any]:
    """Our field names are parse_parameters' keys already; `scheduler` travels only as a
    timestep spacing ("sgm_uniform": A1111's "SGM Uniform"), as "Karras" is in the
    sampler's name already and other schedules have no equivalent here."""
    params: dict[str, Any] = {"prompt": "", "negative_prompt": ""}
    params.update((k, v) for k, v in read.fields.items() if k != "scheduler")
    label = schedule_label(str(read.fields.get("scheduler") or ""))
    if label in SPACING_OF_SCHEDULE:
        params["schedule_type"] = label
    return params
