"""The one-shot GPU check (`make gpu-check`): how the app does on a CUDA GPU, in at
most about 8 minutes, with nothing downloaded (random weights from the bundled configs).

Prints `name: value unit` lines, section by section:

- `sd15_app`, `sd15_diffusers` (it/s) and their ratio `sd15_app_over_diffusers`: SD 1.5,
  512² × 25 steps, in the app's precision (fp16 on CUDA), through the app and through
  bare diffusers; each side's `*_peak_vram`;
- `sdxl_app` (it/s) and `sdxl_app_picture` (s): SDXL, 1024² × 20 steps, through the app;
- `sd15_fp32_max_diff_vs_diffusers` (levels) and `sd15_fp32_equal_pixels_vs_diffusers`
  (%): the app's SD 1.5 picture in fp32 against diffusers', same components, scheduler
  and generator;
- `upscale_lite_x4_*`, `upscale_esrgan_*`: a 2048² image through the app (tiled, fp16)
  against spandrel (bench.gpu_sections.upscale);
- `lab_train_app`, `lab_train_bare` (steps/s), `slider_frame_*` (ms): the Latent Lab
  (bench.gpu_sections.lab);
- `<section>_peak_vram` (GiB): torch's peak allocation in each section, reset before it.

A section that runs out of memory says so in its line and the next one runs; one that
would not fit in what is left of the budget is skipped with a line saying so. Without a
CUDA GPU it prints one line and exits 0. `--device cpu --tiny` runs every section on
the CPU with tiny models and sizes: the test that proves the check before any GPU does
(tests/test_gpu_check.py).

    python -m bench.gpu [--device cpu] [--tiny] [--budget SECONDS] [--only SECTION ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import torch  # noqa: E402

BUDGET_S = 480  # the 8 minutes


def sections() -> dict[str, tuple[float, Callable]]:
    """{name: (seconds it is expected to need on a GPU, body)}, in the order they run."""
    from bench.gpu_sections import lab, sd, upscale

    return {
        "sd15": (90, sd.sd15_speed),
        "sdxl": (150, sd.sdxl_speed),
        "sd15_fp32": (40, sd.sd15_fp32_pixels),
        "upscale_lite_x4": (20, upscale.lite_x4),
        "upscale_esrgan": (60, upscale.esrgan),
        "lab_training": (40, lab.training),
        "lab_sliders": (10, lab.sliders),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny models and sizes (a CPU proof)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for all sections")
    parser.add_argument("--only", nargs="+", metavar="SECTION", help="run only these sections")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            f"gpu_check: no CUDA GPU on this machine (torch {torch.__version__}); nothing measured"
        )
        return 0
    from bench.gpu_sections.harness import FULL, TINY, Check

    chosen = sections()
    unknown = set(args.only or ()) - set(chosen)
    if unknown:
        print(
            f"gpu_check: no section {', '.join(sorted(unknown))}; the sections: {', '.join(chosen)}"
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="latentstudio-gpu-check-") as work:
        check = Check(args.device, TINY if args.tiny else FULL, Path(work), args.budget)
        print(f"# gpu_check: {describe(args.device)}; {'tiny' if args.tiny else 'full'} sizes")
        for name, (expected_s, body) in chosen.items():
            if not args.only or name in args.only:
                check.section(name, expected_s, body)
        check.emit("gpu_check_total", check.budget_s - check.left_s(), "s", 1)
    return 0


def describe(device: str) -> str:
    """The machine, for the record: the GPU's name and memory, and the versions."""
    import diffusers

    versions = f"torch {torch.__version__}, diffusers {diffusers.__version__}"
    if device != "cuda":
        return f"CPU ({os.cpu_count()} cores), {versions}"
    props = torch.cuda.get_device_properties(0)
    memory = f"{props.total_memory / 2**30:.1f} GiB"
    return f"{props.name} ({memory}), CUDA {torch.version.cuda}, {versions}"


if __name__ == "__main__":
    sys.exit(main())
