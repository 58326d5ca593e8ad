"""Frames as an animation file: GIF (every viewer plays it; 256 colours per frame) and
WebP (lossless, smaller, the colours exact). Both loop forever.

The Lab's frames are tiny (8 or 32 pixels a side), a postage stamp in any viewer or
chat: `scale` enlarges each pixel to a `scale` x `scale` block (nearest neighbour, so the
pixels stay sharp and exact rather than blurred)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def animation_bytes(frames: list[np.ndarray], fps: float, kind: str, scale: int = 1) -> bytes:
    images = [Image.fromarray(enlarged(np.asarray(frame, np.uint8), scale)) for frame in frames]
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


def enlarged(frame: np.ndarray, scale: int) -> np.ndarray:
    """Each pixel as a scale x scale block (nearest neighbour)."""
    if scale <= 1:
        return frame
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)
