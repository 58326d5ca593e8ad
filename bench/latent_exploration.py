"""Latent exploration (issue 11), through the runtime, warm, on the CPU:

- `interpolate_16_frames_<model>`: 16 frames between two seeds (each decoded alone).
- `filmstrip_ddim50_<model>`: a 50-step DDIM reverse process kept step by step, with its
  filmstrip and final sample.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

RUNS = 7


def main() -> None:
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef
    from engine.api.requests import DiffuseRequest, InterpolateRequest
    from engine.context import JobContext
    from engine.runtime import Runtime

    runtime = Runtime(device_preference="cpu")

    def median_ms(request) -> float:
        runtime.run(request, JobContext(0))  # load and warm
        times = []
        for i in range(RUNS):
            started = time.perf_counter()
            runtime.run(request, JobContext(i + 1))
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    for model in ("gan-shapes", "gan-emoji", "vae-shapes"):
        family = Family(model.split("-")[0])
        request = InterpolateRequest(
            model=ModelRef(family, model), from_seed=1, to_seed=2, frames=16, save=False
        )
        print(f"interpolate_16_frames_{model}: {median_ms(request):.0f} ms", flush=True)
    for model in ("ddpm-digits", "ddpm-shapes"):
        request = DiffuseRequest(model=ModelRef(Family.DDPM, model), seed=3, steps=50, save=False)
        print(f"filmstrip_ddim50_{model}: {median_ms(request) / 1000:.2f} s", flush=True)
    runtime.close()


if __name__ == "__main__":
    main()
