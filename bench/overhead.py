"""Overhead of the app's Stable Diffusion job over a bare diffusers call, same arguments.

The app's path is the real runtime: validation, per-step progress and throttled live
previews, cancel checks, and the gallery save (PNG + metadata + SQLite). Both sides run
the same loaded tiny model on the CPU, interleaved, and the ratio of medians is reported.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

RUNS = 5


def main() -> None:
    from bench.baselines import bare_diffusers_txt2img
    from bench.timing import interleaved_medians
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext
    from engine.models.sd.tiny import build_tiny_pipeline
    from engine.runtime import Runtime
    from engine.store import GalleryStore

    work = Path(tempfile.mkdtemp())
    model = build_tiny_pipeline(work / "tiny-sd")
    store = GalleryStore(work / "out")
    runtime = Runtime(store=lambda: store, device_preference="cpu")
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(model)),
        prompt=Prompt("a lighthouse at dusk"),
        size=Size(256, 256),
        sampling=Sampling(steps=20, seed=3),
    )
    events: list = []

    def app_job() -> None:
        runtime.run(request, JobContext(1, emit=events.append))

    def bare_job() -> None:
        bare_diffusers_txt2img(
            model,
            prompt="a lighthouse at dusk",
            width=256,
            height=256,
            steps=20,
            cfg_scale=7.0,
            seed=3,
        )

    a, b = interleaved_medians(app_job, bare_job, RUNS)
    print(f"overhead_app_job: {a:.3f} s")
    print(f"overhead_bare_diffusers: {b:.3f} s")
    print(f"overhead_ratio: {a / b:.3f} x")


if __name__ == "__main__":
    main()
