"""Timing two jobs against each other on a noisy, shared machine: interleaved, after a
warm-up of each, the median of each side. Their ratio is the figure that means something."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_medians(
    app: Callable[[], object], bare: Callable[[], object], runs: int
) -> tuple[float, float]:
    app(), bare()  # load and warm both
    app_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(runs):
        for job, times in ((app, app_times), (bare, bare_times)):
            start = time.perf_counter()
            job()
            times.append(time.perf_counter() - start)
    return statistics.median(app_times), statistics.median(bare_times)
