"""Faster fp32 paths for one full-size SD 1.5 UNet evaluation on the CPU, each against
eager fp32 in the same interpreter (`python -m bench.cpu_speed fast` runs them).

Each path is built once (its warm-up: a compile, a conversion), then evaluated
`repeats` times interleaved with eager fp32 (eager, path, eager, path, ...), so that a
shared, noisy machine slows both sides alike; the figures are medians. The relative
error is ‖path − eager‖ / ‖eager‖ of the first outputs (the same inputs and weights).
Memory: the resident memory the path adds (after its warm-up and the timed runs, less
before its build, eager having run once: a compiled graph's buffers and freezing's
prepacked weight copies), and the process's peak.
"""

from __future__ import annotations

import copy
import os
import resource
import statistics
import time
from collections.abc import Callable

import torch

PATHS = ("openvino", "channels-last", "compile", "compile-freezing", "compile again")
Evaluate = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _line(name: str, value: float | str, unit: str = "") -> None:
    text = f"{value:.3f}" if isinstance(value, float) else value
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def _channels_last(unet: torch.nn.Module) -> Evaluate:
    model = copy.deepcopy(unet).to(memory_format=torch.channels_last)

    def evaluate(x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return model(x, t, encoder_hidden_states=text).sample

    return evaluate


def _compiled(freezing: bool) -> Callable[[torch.nn.Module], Evaluate]:
    def build(unet: torch.nn.Module) -> Evaluate:
        import torch._inductor.config as inductor

        # Freezing folds the weights into the graph as constants, so oneDNN can prepack
        # them: PyTorch's advice for CPU inference (it needs inference or no_grad mode).
        inductor.freezing = freezing
        model = torch.compile(unet)

        def evaluate(x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
            return model(x, t, encoder_hidden_states=text).sample

        return evaluate

    return build


class _UnetOutput(torch.nn.Module):
    """The UNet as a function of three tensors to one (what a converter traces)."""

    def __init__(self, unet: torch.nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t, encoder_hidden_states=text, return_dict=False)[0]


def _openvino(unet: torch.nn.Module, inputs: tuple) -> Evaluate:
    """The app's own OpenVINO backend, its IR cached under LATENTSTUDIO_CACHE_DIR (set it
    to a kept folder: a second run reads the conversion instead of repeating it)."""
    from bench.openvino_unet import OpenVinoForward, available
    from engine.hashing import default_cache_dir

    if not available():
        raise ImportError("openvino", name="openvino")
    cached = any((default_cache_dir() / "openvino").glob("unet-*.xml"))
    _line("openvino: converted graph already in the cache folder", str(cached))
    forward = OpenVinoForward(unet, default_cache_dir(), lambda: "bench-sd15-seed0", 0)
    forward.threads = torch.get_num_threads()

    def evaluate(x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return forward(x, t, text, return_dict=False)[0]

    return evaluate


def _builder(name: str) -> Callable[[torch.nn.Module, tuple], Evaluate]:
    torch_builders = {
        "channels-last": _channels_last,
        "compile": _compiled(False),
        "compile again": _compiled(False),  # the same graph: inductor's disk cache warm
        "compile-freezing": _compiled(True),
    }
    if name in torch_builders:
        return lambda unet, _inputs: torch_builders[name](unet)
    if name == "openvino":
        return _openvino
    raise SystemExit(f"unknown path {name!r}: one of {', '.join(PATHS)}")


def one_path(name: str, config: dict, repeats: int) -> None:
    """Build `name`'s path on a UNet from `config`, then time it against eager fp32."""
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(config).eval()
    inputs = (torch.randn(2, 4, 64, 64), torch.tensor(500), torch.randn(2, 77, 768))

    def eager(x: torch.Tensor, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return unet(x, t, encoder_hidden_states=text).sample

    with torch.inference_mode():
        eager(*inputs)  # eager's own buffers are in "before", not in the path's share
        before = _resident_mb()
        try:
            start = time.perf_counter()
            path = _builder(name)(unet, inputs)
            first, path_out = _timed(path, inputs)
            warm_up = time.perf_counter() - start
        except ImportError as missing:
            _line(f"fp32 {name}", f"skipped ({missing.name} is not installed)")
            return
        seconds: dict[str, list[float]] = {"eager": [], name: []}
        for _ in range(repeats):
            took, reference = _timed(eager, inputs)
            seconds["eager"].append(took)
            seconds[name].append(_timed(path, inputs)[0])
    _report(name, seconds, warm_up, _relative_error(path_out, reference))
    _line(f"fp32 {name}: resident memory added by the path", _resident_mb() - before, "MB")
    _line(f"fp32 {name}: peak resident memory of the process", _peak_mb(), "MB")


def _resident_mb() -> float:
    """This process's resident memory now (Linux: /proc/self/statm, in pages)."""
    pages = int(open("/proc/self/statm").read().split()[1])  # noqa: SIM115
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _timed(evaluate: Evaluate, inputs: tuple) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    out = evaluate(*inputs)
    return time.perf_counter() - start, out.float()


def _relative_error(out: torch.Tensor, reference: torch.Tensor) -> float:
    return float((out - reference).norm() / reference.norm())


def _report(name: str, seconds: dict, warm_up: float, error: float) -> None:
    eager, path = statistics.median(seconds["eager"]), statistics.median(seconds[name])
    runs = {side: ", ".join(f"{s:.2f}" for s in seconds[side]) for side in seconds}
    pairs = statistics.median(e / p for e, p in zip(seconds["eager"], seconds[name], strict=True))
    _line(
        f"fp32 {name}: eager fp32 median of {len(seconds[name])}",
        eager,
        f"s (runs {runs['eager']})",
    )
    _line(f"fp32 {name}: median", path, f"s ({eager / path:.2f}x eager; runs {runs[name]})")
    _line(f"fp32 {name}: median of the interleaved pairs' ratios", f"{pairs:.2f}x eager")
    _line(f"fp32 {name}: relative error vs eager", f"{error:.2e}")
    _line(f"fp32 {name}: warm-up (build and first evaluation)", warm_up, "s")
    _line(f"fp32 {name}: load average (1 min)", os.getloadavg()[0])
