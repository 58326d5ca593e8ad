"""The bundle against the source tree (issue 12), when `make package` has built one:

- `frozen_cold_start` / `source_cold_start`: process start -> the main window's first
  paint (`--quit-when-shown` prints the moment), medians of interleaved runs;
- `frozen_sd_job` / `source_sd_job`: the same tiny Stable Diffusion `generate` command,
  whole process included, and their ratio;
- `bundle_size`: the dist/LatentStudio folder on disk.

Without a bundle it says so and measures nothing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "LatentStudio"
RUNS = 5


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "LATENTSTUDIO_CACHE_DIR": str(home / "cache"),
        "LATENTSTUDIO_DATA_DIR": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def _to_first_paint(command: list[str], home: Path) -> float:
    start = time.time()
    done = subprocess.run(command, cwd=ROOT, env=_env(home), capture_output=True, text=True)
    shown = next(line for line in done.stdout.splitlines() if line.startswith("shown "))
    return float(shown.split()[1]) - start


def _wall(command: list[str], home: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=_env(home), capture_output=True, check=True)
    return time.perf_counter() - start


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    frozen = BUNDLE / "LatentStudio"
    if not frozen.is_file():
        print("# no bundle: `make package` builds dist/LatentStudio, then this measures it")
        return
    source = [sys.executable, "main.py"]
    home = Path(tempfile.mkdtemp(prefix="bench-frozen-"))
    _to_first_paint([str(frozen), "--quit-when-shown"], home)  # the OS file cache, warm
    _to_first_paint([*source, "--quit-when-shown"], home)
    frozen_s, source_s = [], []
    for _ in range(RUNS):  # interleaved: machine noise hits both alike
        frozen_s.append(_to_first_paint([str(frozen), "--quit-when-shown"], home))
        source_s.append(_to_first_paint([*source, "--quit-when-shown"], home))
    print(f"frozen_cold_start: {statistics.median(frozen_s):.2f} s", flush=True)
    print(f"source_cold_start: {statistics.median(source_s):.2f} s", flush=True)

    from engine.models.sd.tiny import build_tiny_pipeline

    model = build_tiny_pipeline(home / "tiny-sd")
    size = ["--width", "128", "--height", "128"]
    job = ["generate", "--model", str(model), "--prompt", "a lighthouse", *size,
           "--steps", "20", "--seed", "3", "--out", str(home / "out")]  # fmt: skip
    frozen_job, source_job = [], []
    for _ in range(3):
        frozen_job.append(_wall([str(BUNDLE / "latentstudio-cli"), *job], home))
        source_job.append(_wall([*source, *job], home))
    f, s = statistics.median(frozen_job), statistics.median(source_job)
    print(f"frozen_sd_job: {f:.2f} s", flush=True)
    print(f"source_sd_job: {s:.2f} s", flush=True)
    print(f"frozen_over_source_sd_job: {f / s:.3f} x", flush=True)
    print(f"bundle_size: {_size(BUNDLE) / 2**30:.2f} GiB", flush=True)


if __name__ == "__main__":
    main()
