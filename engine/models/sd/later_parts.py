"""The parts of a Stable Diffusion request this version does not draw yet.

Txt2ImgRequest already carries image to image, inpainting, ControlNet and a hires pass
as optional parts (engine.api.image_parts), so recipes and the GUI can be built on
them; the runner learns to draw them in a later version (issue 21). Until then a
request that sets one is refused with a sentence, before any model is loaded.
"""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.api.requests import Txt2ImgRequest


def refuse_later_parts(request: Txt2ImgRequest) -> None:
    """Raise BadInput naming the parts that are set, if any."""
    named = {
        "the source image": request.source,
        "the mask": request.mask,
        "the control units": request.control,
        "the hires pass": request.hires,
    }
    chosen = [name for name, part in named.items() if part]
    if chosen:
        raise BadInput(
            "Image to image, inpainting, ControlNet and hires fix arrive in a later version; "
            f"clear {_and(chosen)} to generate."
        )


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
