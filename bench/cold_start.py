"""Cold start: process start -> main window shown, against a bare PySide6 window."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def time_to_window(which: str) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "bench.show_window", which],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    shown = float(
        next(line for line in out.stdout.splitlines() if line.startswith("shown")).split()[1]
    )
    return shown - start


def main() -> None:
    time_to_window("app")  # warm the OS file cache for both
    app, bare = [], []
    for _ in range(RUNS):  # interleaved, so machine noise hits both alike
        app.append(time_to_window("app"))
        bare.append(time_to_window("bare"))
    a, b = statistics.median(app), statistics.median(bare)
    print(f"cold_start_app: {a:.3f} s")
    print(f"cold_start_bare_pyside6: {b:.3f} s")
    print(f"cold_start_ratio: {a / b:.2f} x")


if __name__ == "__main__":
    main()
