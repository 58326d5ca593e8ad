"""The ControlNet preprocessors that need no weights (issue 22), each on a 1024² picture.

`preprocess_<name>_ms`: the median of 5 calls of `preprocess` (after one warm-up call)
on a 1024×1024 photo-like picture, default settings (tile at rate 2, inpaint with a
quarter of the picture masked). The targets: canny and lineart ≤ 100 ms.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

SIZE = 1024
RUNS = 5
SETTINGS = {"tile": {"rate": 2.0}}


def picture() -> np.ndarray:
    """Smooth shapes, hard edges and grain: something every filter has work to do on."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    rgb = np.empty((SIZE, SIZE, 3), np.float32)
    rgb[..., 0] = 220 * ((x - 500) ** 2 + (y - 480) ** 2 < 300**2)
    rgb[..., 1] = 127 + 120 * np.sin(x / 37) * np.cos(y / 53)
    rgb[..., 2] = 200 * ((x // 64 + y // 64) % 2)
    rgb += rng.normal(0, 6, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def main() -> None:
    from engine.api.image_parts import CONTROL_PREPROCESSORS
    from engine.models.sd.control.annotators import ANNOTATORS
    from engine.models.sd.control.preprocessors import preprocess

    rgb = picture()
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[256:768, 256:768] = 255
    for name in CONTROL_PREPROCESSORS:
        if name in ANNOTATORS:
            continue
        settings = SETTINGS.get(name, {})
        preprocess(name, rgb, settings, mask=mask)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            preprocess(name, rgb, settings, mask=mask)
            times.append(time.perf_counter() - start)
        print(f"preprocess_{name}_ms: {statistics.median(times) * 1000:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
