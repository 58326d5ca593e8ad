"""The parts of a Stable Diffusion request this version does not draw yet.

Txt2ImgRequest carries image to image, inpainting, outpainting, ControlNet, IP-Adapter
and a hires pass as optional parts (engine.api.image_parts). All are drawn now
(engine.models.sd.drawing; control units and IP-Adapters by engine.models.sd.control);
this stays the one place where a part added to the request before its drawing is
refused with a sentence, before any model is loaded.
"""

from __future__ import annotations

from engine.api.requests import Txt2ImgRequest


def refuse_later_parts(request: Txt2ImgRequest) -> None:
    """Raise BadInput for a part this version does not draw: none at present."""
    del request
