"""What every section of the GPU check shares: the sizes it runs at, the time budget,
timing that a GPU's asynchronous queue cannot fool, and peak memory per section.

A section is time-boxed twice: it is skipped (with a line saying so) when less of the
whole check's budget is left than it is expected to need, and its repeated timings stop
early (after at least one timed run) once its own share is spent. Out of memory ends a
section with a line; the next section still runs.
"""

from __future__ import annotations

import resource
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Sizes:
    """What the check computes. FULL is the issue's; TINY proves the logic on a CPU."""

    tiny: bool
    sd_side: int  # SD 1.5 picture side, px
    sd_steps: int
    sdxl_side: int
    sdxl_steps: int
    equal_steps: int  # the fp32 pixel comparison (pixels, not speed: fewer steps do)
    upscale_side: int  # the image the upscalers enlarge
    upscale_tile: int  # -1: the app's own choice of tile
    train_steps: int  # of the timed Lab training
    train_preset: str  # VAE preset and data set of the Lab training
    slider_moves: int
    runs: int  # timed runs of each side after the warm-up


FULL = Sizes(
    tiny=False,
    sd_side=512,
    sd_steps=25,
    sdxl_side=1024,
    sdxl_steps=20,
    equal_steps=10,
    upscale_side=2048,
    upscale_tile=-1,
    train_steps=400,
    train_preset="shapes",
    slider_moves=30,
    runs=3,
)
TINY = Sizes(
    tiny=True,
    sd_side=64,
    sd_steps=2,
    sdxl_side=64,
    sdxl_steps=2,
    equal_steps=2,
    upscale_side=48,
    upscale_tile=32,
    train_steps=30,
    train_preset="digits",
    slider_moves=3,
    runs=1,
)


class Check:
    """The running check: device, sizes, scratch folder, budget and the lines printed."""

    def __init__(self, device: str, sizes: Sizes, work: Path, budget_s: float) -> None:
        self.device, self.sizes, self.work = device, sizes, work
        self.started = time.perf_counter()
        self.budget_s = budget_s
        self.deadline = float("inf")  # the running section's
        self.lines: list[str] = []

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"

    def left_s(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)

    def emit(self, name: str, value: float, unit: str, digits: int = 2) -> None:
        self.say(f"{name}: {value:.{digits}f} {unit}")

    def runtime(self):
        """The app's runtime on the check's device, its hashes kept in the scratch folder."""
        from engine.hashing import HashCache, HashService
        from engine.runtime import Runtime

        hashes = HashService(HashCache(self.work / "hashes.db"))
        return Runtime(device_preference=self.device, hashes=hashes)

    def note(self, text: str) -> None:
        """A comment line (`# ...`): what was run, not a figure."""
        self.say(f"# {text}")

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def median_s(self, job: Callable[[], object], runs: int | None = None) -> float:
        """Median seconds of `job` after one warm-up run, synchronised on both sides;
        fewer runs (at least one) once the section's time is spent."""
        job()
        times: list[float] = []
        for _ in range(runs or self.sizes.runs):
            self.sync()
            started = time.perf_counter()
            job()
            self.sync()
            times.append(time.perf_counter() - started)
            if time.perf_counter() > self.deadline:
                break
        return statistics.median(times)

    def section(self, name: str, expected_s: float, body: Callable[[Check], None]) -> None:
        """Run one section inside its time box, with its own peak memory."""
        expected_s = expected_s if not self.sizes.tiny else 0
        if self.left_s() < expected_s:
            self.say(
                f"{name}: skipped ({self.left_s():.0f} s of the budget left, "
                f"it needs about {expected_s:.0f} s)"
            )
            return
        started = time.perf_counter()
        self.deadline = started + min(expected_s, max(self.left_s(), 0))
        self.reset_peak()
        try:
            body(self)
        except Exception as exc:  # one broken section must not hide the others' figures
            first_line = (str(exc).splitlines() or [""])[0][:120]
            if _out_of_memory(exc):
                self.say(f"{name}: out of memory ({first_line})")
            else:
                traceback.print_exc()
                self.say(f"{name}: failed ({type(exc).__name__}: {first_line})")
        finally:
            self.deadline = float("inf")
        # Out here the exception's frames, which pin tensors, are gone.
        self.peak(name)
        self.emit(f"{name}_wall", time.perf_counter() - started, "s", 1)
        if self.cuda:
            torch.cuda.empty_cache()

    def reset_peak(self) -> None:
        """Start a new peak-memory measurement (CUDA; the CPU's peak cannot be reset)."""
        self.sync()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def peak(self, name: str) -> None:
        """`<name>_peak_vram` since the last reset, or on the CPU the process's peak
        resident memory so far (`<name>_peak_rss`: an upper bound, never reset)."""
        self.sync()
        if self.cuda:
            self.emit(f"{name}_peak_vram", torch.cuda.max_memory_allocated() / 2**30, "GiB")
        else:
            peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # kB on Linux
            self.emit(f"{name}_peak_rss", peak_mib, "MiB", 0)


def _out_of_memory(exc: BaseException) -> bool:
    """torch's own error, or the app's sentence for it (the runtime turns the one into
    the other after freeing what it can)."""
    from engine.api.errors import OutOfMemory, is_out_of_memory

    return isinstance(exc, OutOfMemory) or is_out_of_memory(exc)
