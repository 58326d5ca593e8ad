"""Frames as an animation file: GIF (every viewer plays it; 256 colours per frame) and
WebP (lossless, smaller, the colours exact). Both loop forever."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def animation_bytes(frames: list[np.ndarray], fps: float, kind: str) -> bytes:
    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    duration = round(1000 / fps)
    buffer = io.BytesIO()
    options = {"lossless": True, "method": 4} if kind == "webp" else {"optimize": False}
    images[0].save(
        buffer,
        format=kind.upper(),
        save_all=True,
        append_images=images[1:],
        duration=duration,
        loop=0,
        **options,
    )
    return buffer.getvalue()
