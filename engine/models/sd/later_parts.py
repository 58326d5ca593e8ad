"""The parts of a Stable Diffusion request this version does not draw yet.

Txt2ImgRequest carries image to image, inpainting, outpainting, ControlNet, IP-Adapter
and a hires pass as optional parts (engine.api.image_parts). All but ControlNet are drawn
(engine.models.sd.drawing; IP-Adapters by engine.models.sd.control.ip_adapter); a request
with control units is refused with a sentence, before any model is loaded.
"""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.api.requests import Txt2ImgRequest


def refuse_later_parts(request: Txt2ImgRequest) -> None:
    """Raise BadInput when the request has control units."""
    if request.control:
        raise BadInput(
            "ControlNet arrives in a later version; clear the control units to generate."
        )
