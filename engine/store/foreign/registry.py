"""Which reader reads a picture: the first in READERS whose test matches its texts.

Adding a tool is one module with an `is_x(texts)` and a `read_x(texts) -> Draft`, and
one line here. The order matters where tools share a chunk name: SwarmUI and Fooocus
write JSON in `parameters`, A1111 text; a ComfyUI node may write A1111 text beside the
graph, which is then the better source, so the A1111 reader comes before ComfyUI's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.store.foreign import (
    a1111_text,
    comfyui,
    drawthings,
    fooocus,
    invokeai,
    invokeai_legacy,
    novelai,
    swarmui,
)
from engine.store.foreign.result import Draft

Texts = dict[str, str]


@dataclass(frozen=True)
class Reader:
    tool: str
    claims: Callable[[Texts], bool]
    read: Callable[[Texts], Draft]


READERS: tuple[Reader, ...] = (
    Reader("swarmui", swarmui.is_swarmui, swarmui.read_swarmui),
    Reader("fooocus", fooocus.is_fooocus, fooocus.read_fooocus),
    Reader("invokeai", invokeai.is_invokeai, invokeai.read_invokeai),
    Reader("invokeai", invokeai_legacy.is_invokeai_legacy, invokeai_legacy.read_invokeai_legacy),
    Reader("novelai", novelai.is_novelai, novelai.read_novelai),
    Reader("draw-things", drawthings.is_drawthings, drawthings.read_drawthings),
    Reader("a1111", a1111_text.is_a1111_text, a1111_text.read_a1111),
    Reader("comfyui", comfyui.is_comfyui, comfyui.read_comfyui),
)


def reader_for(texts: Texts) -> Reader | None:
    return next((r for r in READERS if r.claims(texts)), None)
