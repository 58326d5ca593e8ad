"""The UNet compiled by torch.compile (inductor, freezing): a user's choice on the CPU.

Measured on the full-size SD 1.5 UNet on a 2-core CPU (README, Benchmarks): 1.40×
eager fp32 with inductor's disk cache warm, after a warm-up of about 2 minutes per
process and model (15 cold). So it is off unless asked for (Settings, `--compile`),
and inductor's cache lives in the app's cache folder: a second start reuses the
compiled kernels.

Freezing folds the UNet's weights into the compiled graph as constants, so a compiled
graph must never outlive the weights it was built from. `CompiledUnet` keeps one
pipeline's compiled UNet with a key of what its weights are this job (the parameters'
names, shapes and version counters, which an in-place change bumps, and the LoRA and
IP-Adapter files with their weights); a different key drops the compiled graph and
compiles again. Where inductor cannot compile (no C++ compiler), the UNet runs eagerly
and the recipe says why.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

import torch

from engine.hashing import default_cache_dir

log = logging.getLogger(__name__)

COMPILING_MESSAGE = "Compiling the UNet — the first picture takes minutes; later ones are faster"
CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"
CACHE_FOLDER = "inductor"
COMPILED_NOTE = (
    "UNet compiled (torch.compile, inductor): within float rounding of the uncompiled "
    "picture, not bit-equal to it."
)


def use_app_cache_dir() -> Path:
    """Inductor's compiled kernels in the app's cache folder, kept between starts. A
    folder the user named in TORCHINDUCTOR_CACHE_DIR is kept."""
    os.environ.setdefault(CACHE_ENV, str(default_cache_dir() / CACHE_FOLDER))
    return Path(os.environ[CACHE_ENV])


def compiler_missing() -> str:
    """ "" where inductor finds a working C++ compiler (its own check); else why not."""
    from torch._inductor.cpp_builder import get_cpp_compiler
    from torch._inductor.exc import InvalidCxxCompiler

    try:
        get_cpp_compiler()
    except InvalidCxxCompiler as exc:
        return str(exc)
    return ""


def status_words() -> tuple[str, str]:
    """The status bar's words for the choice, and its tooltip's reason."""
    reason = compiler_missing()
    if reason:
        return "not compiled", f"the UNet cannot be compiled here: {reason}"
    return "compiled UNet", "the UNet compiled by torch.compile (inductor)"


def compile_unet(unet: torch.nn.Module) -> torch.nn.Module:
    """inductor with freezing (the measured path); static shapes: a new picture size is
    compiled again rather than every size running a slower shape-generic graph."""
    use_app_cache_dir()
    return torch.compile(unet, options={"freezing": True}, dynamic=False)


def _compile_errors() -> tuple[type[BaseException], ...]:
    from torch._dynamo.exc import BackendCompilerFailed
    from torch._inductor.exc import CppCompileError, InvalidCxxCompiler

    return (BackendCompilerFailed, InvalidCxxCompiler, CppCompileError)


def weights_key(unet: torch.nn.Module, adapters: Hashable) -> Hashable:
    """What the UNet computes with now: its parameters (name, shape, version counter;
    an in-place change such as a fused LoRA bumps the counter) and the adapters applied
    to it by name (a LoRA loaded again from the same file has fresh tensors whose
    values are the same)."""
    params = tuple((name, tuple(p.shape), _version(p)) for name, p in unet.named_parameters())
    return (id(unet), params, adapters)


def _version(tensor: torch.Tensor) -> int:
    try:
        return int(tensor._version)
    except RuntimeError:  # an inference tensor has no version counter (and is not changed)
        return 0


def adapters_key(loras: Any, ip_adapters: Any) -> Hashable:
    """The LoRA files (path, weight, size, modification time) and IP-Adapters of a job."""
    return (tuple((lora.path, lora.weight, _stat(lora.path)) for lora in loras), repr(ip_adapters))


def _stat(path: str) -> tuple[int, int]:
    try:
        stat = Path(path).stat()
    except OSError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)


class CompiledUnet:
    """One pipeline's compiled UNet, compiled again whenever its weights change."""

    def __init__(
        self,
        compile_fn: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
        missing: Callable[[], str] | None = None,
    ) -> None:
        self._compile = compile_fn  # None: this module's own, looked up when used
        self._missing = missing
        self._module: torch.nn.Module | None = None
        self._key: Hashable = None
        self.failure = ""  # why the UNet runs eagerly although compiling was asked for
        # The job shapes the compiled graph has run for: static shapes, so a new picture
        # size (or batch) compiles again, and the message says so then too.
        self._warm: set[Hashable] = set()
        self._shape: Hashable = ()
        self.compiles = 0  # how many times a graph was built (for the log and tests)

    @property
    def warm(self) -> bool:
        """Whether the compiled graph has run for this job's shape (its warm-up is paid)."""
        return self._shape in self._warm

    @contextlib.contextmanager
    def applied(self, pipe: Any, adapters: Hashable = (), shape: Hashable = ()) -> Iterator[None]:
        """`pipe.unet` compiled for the duration of the block (eager where it cannot be);
        `shape`: the job's picture size and batch, for `warm`."""
        self._shape = shape
        module = None if self.failure else self._current(pipe.unet, adapters)
        if module is None:
            yield
            return
        eager = pipe.unet
        pipe.unet = module
        try:
            yield
        finally:
            pipe.unet = eager

    def record(self) -> dict[str, Any]:
        """What the recipe says: compiled, or not and why."""
        if self.failure:
            return {"compiled": False, "notes": [f"Not compiled ({self.failure}): ran eagerly."]}
        return {"compiled": True, "notes": [COMPILED_NOTE]}

    def _current(self, unet: torch.nn.Module, adapters: Hashable) -> torch.nn.Module | None:
        key = weights_key(unet, adapters)
        if self._module is not None and key == self._key:
            return self._module
        self._drop()
        reason = (self._missing or compiler_missing)()
        if reason:
            self._fail(reason)
            return None
        try:
            module = (self._compile or compile_unet)(unet)
        except _compile_errors() as exc:
            self._fail(str(exc))
            return None
        self._module, self._key = _with_fallback(module, unet, self), key
        self._warm.clear()
        self.compiles += 1
        log.info("UNet compiled (build %d): its weights changed or it is new", self.compiles)
        return self._module

    def _drop(self) -> None:
        """Forget the old graph and its frozen weights: dynamo's caches hold them, so a
        reset frees them (another pipeline's compiled UNet compiles again when next run)."""
        if self._module is None:
            return
        self._module, self._key = None, None
        torch._dynamo.reset()

    def _fail(self, reason: str) -> None:
        self.failure = reason.strip().splitlines()[0] if reason.strip() else "compile failed"
        log.warning("UNet not compiled, running eagerly: %s", self.failure)
        self._drop()


def _with_fallback(
    module: torch.nn.Module, eager: torch.nn.Module, slot: CompiledUnet
) -> torch.nn.Module:
    """The compiled module, whose first call falls back to `eager` (for good) where
    inductor fails to compile: torch.compile is lazy, it compiles on that first call."""
    compiled_forward = module.forward
    errors = _compile_errors()

    def forward(*args: Any, **kwargs: Any) -> Any:
        if slot.failure:
            return eager(*args, **kwargs)
        try:
            out = compiled_forward(*args, **kwargs)
        except errors as exc:
            slot._fail(_root_cause(exc))
            return eager(*args, **kwargs)
        slot._warm.add(slot._shape)
        return out

    module.forward = forward
    return module


def _root_cause(exc: BaseException) -> str:
    """The innermost error's sentence (dynamo wraps inductor's in its own)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------- one job


def wanted(env: Any) -> bool:
    """Compiling is a CPU choice (Settings, `--compile`); a GPU keeps its own path."""
    return bool(getattr(env, "compile", False)) and env.device.device == "cpu"


@contextlib.contextmanager
def compiled_for_job(
    slot: CompiledUnet, pipe: Any, env: Any, request: Any, ctx: Any, steps: int
) -> Iterator[None]:
    """The job's UNet compiled where asked for; the message says so while it warms up."""
    if not wanted(env):
        yield
        return
    shape = (repr(getattr(request, "size", None)), getattr(request, "batch_size", 1))
    with slot.applied(pipe, adapters_key(request.loras, request.ip_adapters), shape):
        if not (slot.failure or slot.warm):
            ctx.report(0, steps, message=COMPILING_MESSAGE)
            ctx.phase = "compiling the UNet"
        yield


def job_record(slot: CompiledUnet, env: Any) -> dict[str, Any]:
    """The recipe's `compiled` (and its note) where compiling was asked for."""
    return slot.record() if wanted(env) else {}
