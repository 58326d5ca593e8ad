"""The parts of a Stable Diffusion request this version does not draw yet.

Txt2ImgRequest carries image to image, inpainting, outpainting, ControlNet and a hires
pass as optional parts (engine.api.image_parts). Image to image and hires fix are drawn
(engine.models.sd.drawing); a request that sets a part not drawn yet is refused with a
sentence, before any model is loaded.
"""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.api.requests import Txt2ImgRequest


def refuse_later_parts(request: Txt2ImgRequest) -> None:
    """Raise BadInput naming the parts that are set, if any."""
    named = {
        "the mask": request.mask,
        "the outpaint": request.outpaint,
        "the control units": request.control,
    }
    chosen = [name for name, part in named.items() if part]
    if chosen:
        raise BadInput(
            "Inpainting, outpainting and ControlNet arrive in a later version; "
            f"clear {_and(chosen)} to generate."
        )


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
