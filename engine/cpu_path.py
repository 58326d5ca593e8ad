"""The numeric path Stable Diffusion runs in on this CPU: fp32, or bf16 where it wins.

bf16 is only fast on CPUs that compute it natively (AMX, AVX-512 BF16); elsewhere
oneDNN emulates it and it is slower than fp32. So the choice is:

- a pure function of the CPU's flags says whether bf16 can win at all
  (`features_from`, tested with literal flag sets);
- where it can, a one-time micro-measurement (a small UNet-like block in each candidate
  path, a few hundred ms) decides, cached per machine in the app's cache folder, keyed
  by the CPU model and the torch version (`MeasurementCache`); a corrupt cache is
  measured again;
- the user can force fp32 (Settings, `--precision fp32`) or bf16.

fp32 never takes channels-last: its pixels must stay bit-identical to a bare diffusers
call (and across CPUs), which a different convolution layout would not promise.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.atomic import write_atomic
from engine.hashing import default_cache_dir

PRECISION_CHOICES = ("auto", "fp32", "bf16")
PRECISION_ENV = "LATENTSTUDIO_PRECISION"  # what "auto" means when set (the tests: fp32)
BF16_MARGIN = 1.2  # bf16 must be this much faster: a tie keeps the exact fp32 path
CHANNELS_LAST_MARGIN = 1.05
CACHE_FILE = "cpu-path.json"
CACHE_VERSION = 1


@dataclass(frozen=True)
class CpuFeatures:
    amx: bool = False
    avx512_bf16: bool = False
    avx512: bool = False
    avx2: bool = False

    @property
    def native_bf16(self) -> bool:
        return self.amx or self.avx512_bf16

    @property
    def label(self) -> str:
        if self.amx:
            return "AMX"
        if self.avx512_bf16:
            return "AVX-512 BF16"
        return "AVX-512" if self.avx512 else "AVX2" if self.avx2 else "baseline"


def features_from(flags: Iterable[str], capability: str) -> CpuFeatures:
    """What the CPU computes natively, from its /proc/cpuinfo flags and the kernels torch
    dispatches to (`torch.backends.cpu.get_cpu_capability()`, which
    ATEN_CPU_CAPABILITY can lower: then the vector flags are not used)."""
    have = {flag.lower() for flag in flags}
    capability = capability.upper()
    avx512 = "avx512f" in have and capability.startswith("AVX512")
    return CpuFeatures(
        amx="amx_bf16" in have and "amx_tile" in have,
        avx512_bf16="avx512_bf16" in have,
        avx512=avx512,
        avx2="avx2" in have and (avx512 or capability.startswith("AVX2")),
    )


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """The CPU's model name and flags from /proc/cpuinfo's text (first processor)."""
    model, flags = "", frozenset[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return model or platform.processor() or "unknown CPU", flags


def this_cpu() -> tuple[str, CpuFeatures]:
    """This machine's CPU model and features (no flags off Linux: fp32 unless forced)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    model, flags = parse_cpuinfo(text)
    return model, features_from(flags, torch.backends.cpu.get_cpu_capability())


@dataclass(frozen=True)
class NumericPath:
    precision: str = "fp32"  # "fp32" or "bf16": what the recipe records
    channels_last: bool = False
    reason: str = ""  # why this path: for the log and the status bar's tooltip

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.precision]

    @property
    def label(self) -> str:
        return self.precision + (" · channels-last" if self.channels_last else "")


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
FP32 = NumericPath("fp32")
CANDIDATES = (FP32, NumericPath("bf16"), NumericPath("bf16", channels_last=True))


# ---------------------------------------------------------------- measuring


def _block(channels: int = 128) -> torch.nn.Module:
    """A UNet-like residual block: norm, 3x3 convolutions and a token mixing matmul."""
    return torch.nn.Sequential(
        torch.nn.GroupNorm(32, channels),
        torch.nn.SiLU(),
        torch.nn.Conv2d(channels, channels, 3, padding=1),
        torch.nn.GroupNorm(32, channels),
        torch.nn.Conv2d(channels, channels, 3, padding=1),
        torch.nn.Conv2d(channels, channels * 4, 1),
        torch.nn.GELU(),
        torch.nn.Conv2d(channels * 4, channels, 1),
    ).eval()


def measure_paths(repeats: int = 3, side: int = 32) -> dict[str, float]:
    """Seconds per evaluation of the block in each candidate path (best of `repeats`)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        block = _block()
        x = torch.randn(2, 128, side, side)
    seconds: dict[str, float] = {}
    with torch.inference_mode():
        for path in CANDIDATES:
            fmt = torch.channels_last if path.channels_last else torch.contiguous_format
            model = block.to(path.dtype, memory_format=fmt)
            data = x.to(path.dtype).contiguous(memory_format=fmt)
            model(data)  # warm-up: kernels chosen, caches filled
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(data)
                times.append(time.perf_counter() - start)
            seconds[path.label] = min(times)
    return seconds


class MeasurementCache:
    """One JSON file of measurements, keyed by CPU model and torch version."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_cache_dir() / CACHE_FILE

    @staticmethod
    def key(cpu_model: str) -> str:
        identity = f"{CACHE_VERSION}|{cpu_model}|{torch.__version__}"
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    def get(self, cpu_model: str, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
        """The cached seconds for this CPU, or `measure()`'s, stored for next time."""
        entries = self._read()
        found = entries.get(self.key(cpu_model))
        if _valid(found):
            return dict(found)
        seconds = measure()
        entries[self.key(cpu_model)] = seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(entries, indent=1, sort_keys=True).encode()
        write_atomic(self.path, lambda file: file.write(data))
        return seconds

    def _read(self) -> dict:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent or corrupt: measured again
            return {}
        return entries if isinstance(entries, dict) else {}


def _valid(found: object) -> bool:
    return (
        isinstance(found, dict)
        and all(path.label in found for path in CANDIDATES)
        and all(isinstance(v, int | float) and v > 0 for v in found.values())
    )


# ---------------------------------------------------------------- choosing


def choose_path(
    preference: str, features: CpuFeatures, measured: Callable[[], dict[str, float]]
) -> NumericPath:
    """The path for `preference` ("auto", "fp32", "bf16") on a CPU with `features`;
    `measured` is called only where the hardware could make bf16 win."""
    if preference == "fp32":
        return NumericPath("fp32", reason="full precision, as chosen")
    if preference == "bf16":
        return NumericPath("bf16", reason="bf16, as chosen")
    if not features.native_bf16:
        return NumericPath("fp32", reason=f"{features.label} has no native bf16: fp32 is faster")
    seconds = measured()
    fp32, bf16 = seconds[FP32.label], seconds[CANDIDATES[1].label]
    if bf16 * BF16_MARGIN > fp32:
        return NumericPath("fp32", reason=f"bf16 measured no faster on {features.label}")
    channels_last = seconds[CANDIDATES[2].label] * CHANNELS_LAST_MARGIN < bf16
    best = min(bf16, seconds[CANDIDATES[2].label]) if channels_last else bf16
    return NumericPath(
        "bf16", channels_last, reason=f"{features.label}: bf16 measured {fp32 / best:.1f}× fp32"
    )


def precision_preference(preference: str | None = None) -> str:
    """What was asked; "auto" (or nothing) is the environment's choice where it names one:
    the test suite pins fp32 there, so its pixels match bare diffusers fp32 on any CPU."""
    chosen = (preference or "auto").lower()
    if chosen not in PRECISION_CHOICES or chosen == "auto":
        chosen = os.environ.get(PRECISION_ENV, "auto").lower()
    return chosen if chosen in PRECISION_CHOICES else "auto"


def cpu_numeric_path(preference: str | None = None) -> NumericPath:
    """This machine's path for `preference`: measured once per machine, then cached."""
    model, features = this_cpu()
    return choose_path(
        precision_preference(preference),
        features,
        lambda: MeasurementCache().get(model, measure_paths),
    )


def numeric_path(on_gpu: bool, preference: str | None = None) -> NumericPath:
    """Stable Diffusion's path. A GPU keeps its half precision (fp16) unless full
    precision (or bf16) is asked for; a CPU chooses as `cpu_numeric_path` does. The
    environment's pin (PRECISION_ENV) is about CPUs: a GPU's auto stays fp16."""
    if not on_gpu:
        return cpu_numeric_path(preference)
    if (preference or "auto").lower() not in ("fp32", "bf16"):
        return NumericPath("fp16", reason="half precision on the GPU")
    return choose_path(str(preference).lower(), CpuFeatures(), dict)
