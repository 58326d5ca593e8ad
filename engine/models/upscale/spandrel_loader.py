"""The one place spandrel is imported: architecture detection from the tensors.

Imported on the first upscale job (the registry imports this family's runners then), so
neither the GUI's cold start nor a Latent Lab job pays for spandrel and torchvision.
"""

from __future__ import annotations

import torch
from spandrel import (
    ImageModelDescriptor,
    ModelLoader,
    ModelTiling,
    UnsupportedModelError,
    canonicalize_state_dict,
)

from engine.api.errors import BadModelFile


def describe(state: dict[str, torch.Tensor], name: str) -> ImageModelDescriptor:
    """spandrel's model for a state dict (on the CPU), or a BadModelFile sentence."""
    try:
        descriptor = ModelLoader("cpu").load_from_state_dict(canonicalize_state_dict(state))
    except UnsupportedModelError:
        raise BadModelFile(
            f"{name} is not an upscaler architecture this app knows (ESRGAN, Real-ESRGAN, "
            "SwinIR, HAT, SPAN, DAT and the other architectures spandrel reads)."
        ) from None
    except (KeyError, RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise BadModelFile(
            f"{name} looks like an upscaler but its weights do not fit its architecture "
            f"({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}). "
            "It may be damaged or incomplete."
        ) from None
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.purpose not in (
        "SR",
        "Restoration",
    ):
        raise BadModelFile(
            f"{name} is a {descriptor.architecture.name} model for "
            f"{str(descriptor.purpose).lower()}, not an upscaler."
        )
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise BadModelFile(
            f"{name} works on {descriptor.input_channels}-channel images; this app upscales "
            "colour (RGB) images."
        )
    return descriptor


def tiling_discouraged(descriptor: ImageModelDescriptor) -> bool:
    return descriptor.tiling is not ModelTiling.SUPPORTED
