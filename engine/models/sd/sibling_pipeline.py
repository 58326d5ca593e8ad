"""A diffusers pipeline of another task built from a loaded pipeline's components.

Image to image, inpainting and the ControlNet/T2I-Adapter pipelines share every weight
of the cached text-to-image pipeline: each is built by its constructor from that
pipeline's components. Not `from_pipe`: it casts every module to float32 unless told
otherwise, which would turn a cached fp16 model to fp32 (and costs time).
"""

from __future__ import annotations

import inspect
from typing import Any


def sibling_pipeline(cls: type, pipe: Any, **modules: Any) -> Any:
    """`cls` over `pipe`'s components plus `modules` (a controlnet, an adapter). Each
    constructor takes only the arguments it declares: SD and SDXL pipelines differ
    (the safety-checker flag, SDXL's empty-prompt and watermark settings)."""
    options = {
        "requires_safety_checker": False,
        "force_zeros_for_empty_prompt": getattr(pipe.config, "force_zeros_for_empty_prompt", True),
        "add_watermarker": getattr(pipe, "watermark", None) is not None,
        **modules,
    }
    accepted = inspect.signature(cls.__init__).parameters
    arguments = {
        name: value
        for name, value in (pipe.components | options).items()
        if name in accepted and name != "self"
    }
    built = cls(**arguments)
    built.set_progress_bar_config(disable=True)
    return built
