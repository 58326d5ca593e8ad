"""The parts of a Stable Diffusion request this version does not draw yet.

Txt2ImgRequest carries image to image, inpainting, outpainting, ControlNet, IP-Adapter
and a hires pass as optional parts (engine.api.image_parts). All but IP-Adapter are
drawn (engine.models.sd.drawing; control units by engine.models.sd.control); a request
with IP-Adapters is refused with a sentence, before any model is loaded.
"""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.api.requests import Txt2ImgRequest


def refuse_later_parts(request: Txt2ImgRequest) -> None:
    """Raise BadInput when the request has IP-Adapters."""
    if request.ip_adapters:
        raise BadInput("IP-Adapter arrives in a later version; clear the IP-Adapters to generate.")
