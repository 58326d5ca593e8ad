"""Dispatch through the registry, with the model cache, then finish what the job made
(engine.finishing: its sheet composed, its images saved).

Runs on the lanes' threads; this is where torch enters the process. Nothing on the GUI
side imports this module. One Runtime serves every lane: it owns the device choice,
the model cache and one instance of each runner it has needed so far.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from engine import registry
from engine.api.errors import is_out_of_memory, out_of_memory
from engine.api.events import DeviceInfo, Progress
from engine.api.outcomes import ImagesOutcome, Outcome
from engine.api.requests import Request
from engine.cache import ModelCache
from engine.context import JobContext
from engine.cpu_path import NumericPath, numeric_path
from engine.device import choose_device, memory_budget_bytes, release_cached_memory
from engine.finishing import finish_images
from engine.hashing import HashService
from engine.local_checks import check_local
from engine.registry import RunnerEnv
from engine.store import GalleryStore

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        store: Callable[[], GalleryStore | None] = lambda: None,
        device_preference: str = "auto",
        hashes: HashService | None = None,
        precision: str | None = None,
        offload: str = "auto",
        compile: bool = False,
    ) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.hashes = hashes if hashes is not None else HashService()
        self._runners: dict[tuple, object] = {}
        self._precision = precision  # "auto", "fp32", "bf16"; None: engine.cpu_path's default
        self._offload = offload  # CUDA: "auto", "none", "model", "sequential"
        self._compile = compile  # the CPU: the UNet by torch.compile (engine.models.sd.compiled)
        self._use_device(device_preference)

    # ------------------------------------------------------------ device

    def _use_device(self, preference: str) -> None:
        self.device = choose_device(preference)
        device = self.device.device
        self.cache = ModelCache(
            memory_budget_bytes(self.device), lambda: release_cached_memory(device)
        )
        # On a CPU that could gain from bf16 this measures once per machine (cached).
        self.numerics: NumericPath = numeric_path(self.device.is_gpu, self._precision)
        log.info("numeric path: %s (%s)", self.numerics.label, self.numerics.reason)
        self.env = RunnerEnv(
            self.device, self.cache, self.hashes, self.numerics, self._offload, self._compile
        )

    def device_info(self) -> DeviceInfo:
        info = self.device.info(self.numerics)
        if not (self._compile and self.device.device == "cpu"):
            return info
        from engine.models.sd.compiled import status_words  # torch._inductor: only if asked

        words, why = status_words()
        detail = f"{info.detail}; {why}" if info.detail else why
        return dataclasses.replace(info, description=f"{info.description} · {words}", detail=detail)

    def set_device_preference(self, preference: str) -> DeviceInfo:
        """Switch devices for the next jobs; jobs running now finish where they are."""
        with self._lock:
            self._unload_runners()
            self.cache.clear()
            self._use_device(preference)
        return self.device_info()

    def set_precision_preference(self, precision: str) -> DeviceInfo:
        """ "auto", "fp32" or "bf16" for the next jobs; models are loaded again."""
        self._precision = precision
        return self.set_device_preference(self.device.requested)

    def set_offload_preference(self, offload: str) -> DeviceInfo:
        """ "auto", "none", "model" or "sequential" on CUDA; models are loaded again."""
        self._offload = offload
        return self.set_device_preference(self.device.requested)

    def set_compile_preference(self, compile_unet: bool) -> DeviceInfo:
        """Whether the CPU compiles Stable Diffusion's UNet; models are loaded again."""
        self._compile = compile_unet
        return self.set_device_preference(self.device.requested)

    # ------------------------------------------------------------ jobs

    def runner_for(self, request: Request) -> registry.Runner:
        key = (request.task, request.family)
        with self._lock:
            runner = self._runners.get(key)
            if runner is None:
                runner = registry.runner_class(*key)(self.env)
                self._runners[key] = runner
            return runner

    def run(self, request: Request, ctx: JobContext) -> Outcome:
        request.validate()  # pure: the data alone
        check_local(request)  # here, where the files are: the models it names exist
        runner = self.runner_for(request)
        outcome = self._run_once_more_on_oom(runner, request, ctx)
        if not isinstance(outcome, request.outcome):
            raise TypeError(
                f"{type(runner).__name__} returned {type(outcome).__name__}, "
                f"but {request.task.value} jobs return {request.outcome.__name__}"
            )
        if isinstance(outcome, ImagesOutcome):
            ctx.check_cancelled()  # a job cancelled at its last step leaves nothing on disk
            outcome = finish_images(outcome, request, self._store)
        return outcome

    def _run_once_more_on_oom(self, runner, request: Request, ctx: JobContext) -> Outcome:
        """On out-of-memory, free every model this job does not use and try once more."""
        for attempt in (1, 2):
            with self.cache.job() as used:
                oom = False
                try:
                    return runner.run(request, ctx)
                except Exception as exc:
                    if not is_out_of_memory(exc):
                        raise
                    oom = True
            # Out here the exception and its frames (which pin tensors) are gone.
            if oom:
                evicted = self.cache.keep_only(used)
                release_cached_memory(self.device.device)
                log.warning("out of memory (attempt %d); evicted %d other models", attempt, evicted)
                if attempt == 2 or not getattr(runner, "retry_on_oom", True):
                    break
                ctx.emit(
                    Progress(ctx.job_id, 0, 1, message="Out of memory: freed memory, retrying…")
                )
        raise out_of_memory(self.device.device, ctx.phase)

    def close(self) -> None:
        with self._lock:
            self._unload_runners()
            self.cache.clear()
        self.hashes.close()

    def _unload_runners(self) -> None:
        for runner in self._runners.values():
            runner.unload()
        self._runners.clear()
