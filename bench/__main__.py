"""Run every benchmark, each in its own interpreter so none warms another's caches."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "bench.cold_start",
    "bench.lab_latency",
    "bench.responsiveness",
    "bench.overhead",
    "bench.interactive_while_training",
    "bench.gallery_index",
    "bench.library_search",
    "bench.gallery_grid",
    "bench.classic_models",
    "bench.upscale",
    "bench.single_file",
    "bench.img2img",
    "bench.latent_exploration",
    "bench.latent_sliders",
    "bench.explore_controls",
    "bench.frozen_start",
    "bench.brush",
    "bench.inpaint",
    "bench.preprocessors",
    "bench.controlnet",
    "bench.cluster",
    "bench.cpu_speed",  # last: about 9 minutes of full-size SD 1.5 on 2 idle cores
)


def main() -> int:
    failed = 0
    for module in sys.argv[1:] or BENCHMARKS:
        print(f"# {module}", flush=True)
        failed |= subprocess.call([sys.executable, "-m", module])
    return failed


if __name__ == "__main__":
    sys.exit(main())
