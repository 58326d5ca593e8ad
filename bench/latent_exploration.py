"""Latent exploration (issue 11), through the runtime, warm, on the CPU:

- `interpolate_16_frames_<model>`: 16 frames between two seeds (each decoded alone).
- `filmstrip_ddim50_<model>`: a 50-step DDIM reverse process kept step by step, with its
  filmstrip and final sample.
- `forward_scrub_frame_<model>`: one frame of the forward process q(x_t | x_0) at a new t
  (what each move of the t slider asks for), median over t = 0..T in 100 steps.
- `latent_axes_<model>`: a model's slider axes found from nothing (no cache): GANSpace's
  PCA for a GAN, the KL order over the data for a VAE, plus naming the shapes factors;
  `latent_axes_cached_<model>` the same read back from the cache.
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
    from engine.api.requests import (
        DiffuseRequest,
        ForwardNoiseRequest,
        InterpolateRequest,
        LatentAxesRequest,
    )
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
    ddpm = ModelRef(Family.DDPM, "ddpm-shapes")
    runtime.run(ForwardNoiseRequest(model=ddpm, t=1, image_index=3), JobContext(0))
    scrub = []
    for t in range(0, 1001, 10):
        started = time.perf_counter()
        runtime.run(ForwardNoiseRequest(model=ddpm, t=t, image_index=3), JobContext(t + 1))
        scrub.append(time.perf_counter() - started)
    print(f"forward_scrub_frame_ddpm-shapes: {statistics.median(scrub) * 1000:.1f} ms")
    for model in ("gan-shapes", "vae-shapes"):
        ref = ModelRef(Family(model.split("-")[0]), model)
        runtime.run(InterpolateRequest(model=ref, frames=2, save=False), JobContext(0))  # load
        started = time.perf_counter()
        runtime.run(LatentAxesRequest(model=ref), JobContext(1))
        print(f"latent_axes_{model}: {time.perf_counter() - started:.2f} s", flush=True)
        started = time.perf_counter()
        runtime.run(LatentAxesRequest(model=ref), JobContext(2))
        print(f"latent_axes_cached_{model}: {(time.perf_counter() - started) * 1000:.1f} ms")
    runtime.close()


if __name__ == "__main__":
    main()
