"""Single-file checkpoints and the model library.

- `library_list_200_cold` / `_warm`: listing a folder of 200 SDXL-size checkpoints (their
  real headers over sparse data) in a fresh process, then again (the rescan the window
  does when it gets focus).
- `single_file_overhead_ratio`: the app's job on a tiny single-file SD 1.x checkpoint
  against a bare diffusers call on the same file (`from_single_file` with a config
  folder saved from the same pipeline), same arguments, interleaved, ratio of medians.
- `full_load_ratio` (part `full`): loading a full-size SD 1.5 single file (random fp16
  weights, 2.1 GB, built from resources/sd-configs) through the app vs diffusers'
  `from_single_file` with a matching config, and the memory each load adds.

`python -m bench.single_file [list] [overhead] [full]` runs only those parts.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("LATENTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="bench-cache-"))

PARTS = ("list", "overhead", "full")
RUNS = 5


def main(parts: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-single-file-"))
    if "list" in parts:
        cold, warm = _listing(work)
        print(f"library_list_200_cold: {cold:.3f} s")
        print(f"library_list_200_warm: {warm:.3f} s", flush=True)
    if "overhead" in parts:
        app, bare = _overhead(work)
        print(f"single_file_app_job: {app:.3f} s")
        print(f"single_file_bare_diffusers: {bare:.3f} s")
        print(f"single_file_overhead_ratio: {app / bare:.3f} x", flush=True)
    if "full" in parts:
        _full_load(work)


def _listing(work: Path) -> tuple[float, float]:
    from engine.library.scan import scan_library
    from tests.sd_original_layout import full_size_shapes, write_header_only

    folder = work / "models" / "Stable-diffusion"
    folder.mkdir(parents=True)
    shapes = full_size_shapes("sdxl")
    for i in range(200):
        write_header_only(folder / f"checkpoint-{i:03d}.safetensors", shapes)
    times = []
    for _ in range(2):
        started = time.perf_counter()
        entries = scan_library([work / "models"])
        times.append(time.perf_counter() - started)
    assert len(entries) == 200 and all(e.family and e.family.value == "sdxl" for e in entries)
    return times[0], times[1]


def _overhead(work: Path) -> tuple[float, float]:
    import torch
    from diffusers import StableDiffusionPipeline

    from bench.timing import interleaved_medians
    from engine.api.kinds import Family
    from engine.api.parts import ModelRef, Prompt, Sampling, Size
    from engine.api.requests import Txt2ImgRequest
    from engine.context import JobContext
    from engine.runtime import Runtime
    from engine.store import GalleryStore
    from tests.sd_original_layout import save_folder, save_single_file, tiny_pipeline

    pipe = tiny_pipeline("sd1", seed=0)
    single = save_single_file(pipe, work / "tiny-sd1.safetensors")
    config = save_folder(pipe, work / "tiny-sd1-config")
    bare = StableDiffusionPipeline.from_single_file(
        str(single), config=str(config), local_files_only=True, safety_checker=None
    )
    bare.set_progress_bar_config(disable=True)
    store = GalleryStore(work / "out")
    runtime = Runtime(store=lambda: store, device_preference="cpu")
    request = Txt2ImgRequest(
        model=ModelRef(Family.SD, str(single)),
        prompt=Prompt("a lighthouse at dusk"),
        size=Size(256, 256),
        sampling=Sampling(steps=20, seed=3),
    )

    def app_job() -> None:
        runtime.run(request, JobContext(1))

    def bare_job() -> None:
        bare(
            prompt="a lighthouse at dusk",
            width=256,
            height=256,
            num_inference_steps=20,
            guidance_scale=7.0,
            generator=torch.Generator("cpu").manual_seed(3),
            output_type="np",
        )

    try:
        return interleaved_medians(app_job, bare_job, RUNS)
    finally:
        runtime.close()


def _full_load(work: Path) -> None:
    """Each load in a fresh interpreter, so that neither inherits the other's pages."""
    import subprocess

    path = work / "sd15-random.safetensors"
    subprocess.run([sys.executable, "-m", "bench.single_file_full", "write", str(path)], check=True)
    results = {}
    for side in ("bare", "app", "bare", "app"):
        out = subprocess.run(
            [sys.executable, "-m", "bench.single_file_full", side, str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        results.setdefault(side, []).append((float(out[0]), float(out[1])))
    app = min(t for t, _ in results["app"])
    bare = min(t for t, _ in results["bare"])
    print(f"full_load_app: {app:.2f} s")
    print(f"full_load_bare_diffusers: {bare:.2f} s")
    print(f"full_load_ratio: {app / bare:.3f} x")
    print(f"full_load_app_rss_added: {max(m for _, m in results['app']):.2f} GB")
    print(f"full_load_bare_rss_added: {max(m for _, m in results['bare']):.2f} GB")
    print(f"full_load_file_size: {path.stat().st_size / 1e9:.2f} GB", flush=True)
    path.unlink()


if __name__ == "__main__":
    main([part for part in sys.argv[1:] if part in PARTS] or list(PARTS))
